import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type ts from 'typescript';
import { typescriptCompiler } from './typescript-compiler.js';
import { InvalidArgumentError, throwIfAborted } from '@codestack/core';

/** One compiler diagnostic, with 1-based line and column when it points into a file. */
export interface CodeDiagnostic {
  /** The TypeScript diagnostic code, such as 2322. */
  code: number;
  /** `error`, `warning`, `suggestion` or `message`. */
  category: 'error' | 'warning' | 'suggestion' | 'message';
  /** The flattened message text. */
  message: string;
  /** The file it points into (the checked snippet is named by {@link TypeCheckOptions.fileName}). */
  file?: string;
  /** 1-based line. */
  line?: number;
  /** 1-based column. */
  column?: number;
}

/** Options of {@link typeCheck}. */
export interface TypeCheckOptions {
  /** The source to check. */
  code: string;
  /** `typescript` (default) or `javascript`. JavaScript is only checked for syntax unless `checkJavaScript`. */
  language?: 'typescript' | 'javascript';
  /** Type-check JavaScript too (`checkJs`). */
  checkJavaScript?: boolean;
  /**
   * The project whose `node_modules` resolves the snippet's imports and `@types`. The snippet is
   * checked as an in-memory file inside this directory. Defaults to `process.cwd()`.
   */
  projectDirectory?: string;
  /** The in-memory file's name (without directory). Defaults to `snippet.ts` / `snippet.js`. */
  fileName?: string;
  /** Compiler options merged over the defaults (strict, ES2023, ES modules resolved like a bundler). */
  compilerOptions?: ts.CompilerOptions;
  /** Cancels the check between phases. */
  signal?: AbortSignal;
}

/** What {@link typeCheck} found. */
export interface TypeCheckResult {
  /** Whether there were no error diagnostics. */
  ok: boolean;
  /** Every diagnostic for the snippet (errors in other files are included only when they block it). */
  diagnostics: CodeDiagnostic[];
}

// Library and declaration files are immutable during a process: parse each once.
const sourceFileCache = new Map<string, ts.SourceFile>();

/**
 * Type-checks a snippet with the TypeScript compiler API against the real declarations of its
 * dependencies: the snippet is an in-memory file placed in `projectDirectory`, the standard
 * library comes from the installed `typescript`, and imports and `@types` resolve through the
 * project's real `node_modules`.
 */
export function typeCheck(options: TypeCheckOptions): TypeCheckResult {
  const compiler = typescriptCompiler();
  if (typeof options.code !== 'string') {
    throw new InvalidArgumentError({ argument: 'code', message: 'must be a string' });
  }
  const language = options.language ?? 'typescript';
  if (language !== 'typescript' && language !== 'javascript') {
    throw new InvalidArgumentError({ argument: 'language', message: `must be 'typescript' or 'javascript', got '${String(language)}'` });
  }
  throwIfAborted(options.signal, 'type check');
  const projectDirectory = resolve(options.projectDirectory ?? process.cwd());
  const virtualName = options.fileName ?? (language === 'typescript' ? 'snippet.ts' : 'snippet.js');
  const fileName = join(projectDirectory, virtualName);
  const compilerOptions: ts.CompilerOptions = {
    strict: true,
    target: compiler.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts'],
    module: compiler.ModuleKind.ESNext,
    moduleResolution: compiler.ModuleResolutionKind.Bundler,
    esModuleInterop: true,
    skipLibCheck: true,
    noEmit: true,
    allowJs: language === 'javascript',
    checkJs: language === 'javascript' && options.checkJavaScript === true,
    types: hasNodeTypes(projectDirectory) ? ['node'] : [],
    ...options.compilerOptions,
  };
  const host = compiler.createCompilerHost(compilerOptions, true);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (path) => path === fileName || fileExists(path);
  host.readFile = (path) => (path === fileName ? options.code : readFile(path));
  host.getSourceFile = (path, languageVersion, onError) => {
    if (path === fileName) return compiler.createSourceFile(path, options.code, languageVersion, true);
    const key = `${typeof languageVersion === 'object' ? languageVersion.languageVersion : languageVersion}:${path}`;
    const cached = sourceFileCache.get(key);
    if (cached) return cached;
    const text = readFile(path);
    if (text === undefined) {
      onError?.(`cannot read ${path}`);
      return undefined;
    }
    const sourceFile = compiler.createSourceFile(path, text, languageVersion, true);
    sourceFileCache.set(key, sourceFile);
    return sourceFile;
  };
  host.writeFile = () => undefined;
  const program = compiler.createProgram({ rootNames: [fileName], options: compilerOptions, host });
  throwIfAborted(options.signal, 'type check');
  const sourceFile = program.getSourceFile(fileName);
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getSyntacticDiagnostics(sourceFile),
    ...program.getSemanticDiagnostics(sourceFile),
  ].map((diagnostic) => toCodeDiagnostic(diagnostic, fileName, virtualName));
  return { ok: !diagnostics.some((diagnostic) => diagnostic.category === 'error'), diagnostics };
}

function hasNodeTypes(directory: string): boolean {
  let current = directory;
  for (;;) {
    if (existsSync(join(current, 'node_modules', '@types', 'node', 'package.json'))) return true;
    const parent = dirname(current);
    if (parent === current) return false;
    current = parent;
  }
}

/** Converts a TypeScript diagnostic into a plain {@link CodeDiagnostic}. */
export function toCodeDiagnostic(diagnostic: ts.Diagnostic, virtualPath?: string, virtualName?: string): CodeDiagnostic {
  const compiler = typescriptCompiler();
  const category = (['warning', 'error', 'suggestion', 'message'] as const)[diagnostic.category] ?? 'error';
  const result: CodeDiagnostic = {
    code: diagnostic.code,
    category,
    message: compiler.flattenDiagnosticMessageText(diagnostic.messageText, '\n'),
  };
  if (diagnostic.file && diagnostic.start !== undefined) {
    const position = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    result.file = diagnostic.file.fileName === virtualPath ? (virtualName ?? diagnostic.file.fileName) : diagnostic.file.fileName;
    result.line = position.line + 1;
    result.column = position.character + 1;
  }
  return result;
}

/** Formats diagnostics one per line as `file:line:column - error TS2322: message`. */
export function formatDiagnostics(diagnostics: readonly CodeDiagnostic[]): string {
  return diagnostics
    .map((diagnostic) => {
      const where = diagnostic.file ? `${diagnostic.file}:${diagnostic.line}:${diagnostic.column} - ` : '';
      return `${where}${diagnostic.category} TS${diagnostic.code}: ${diagnostic.message}`;
    })
    .join('\n');
}
