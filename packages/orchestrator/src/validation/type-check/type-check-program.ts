import { join, relative } from 'node:path';
import type ts from 'typescript';
import { createConfinedCompilerHost, type CachedSourceFile } from './type-check-compiler-host.js';
import { toCodeDiagnostic, type CodeDiagnostic } from './type-check-diagnostics.js';
import { typescriptCompiler } from './typescript-compiler.js';

/** A checked, plain-data request for {@link checkProgram}: what the main thread sends the worker. */
export interface TypeCheckProgramRequest {
  /** The snippet's source. */
  code: string;
  /** `typescript` or `javascript`. */
  language: 'typescript' | 'javascript';
  /** Type-check JavaScript too (`checkJs`). */
  checkJavaScript: boolean;
  /** The absolute project directory. */
  projectDirectory: string;
  /** The snippet's file name, relative to the project directory. */
  fileName: string;
  /** Further in-memory files the snippet may import, by path relative to the project directory. */
  files: Record<string, string>;
  /** Compiler options merged over the defaults. */
  compilerOptions: ts.CompilerOptions;
}

/** What {@link checkProgram} found. */
export interface TypeCheckProgramResult {
  /** Whether there were no error diagnostics. */
  ok: boolean;
  /** The diagnostics of the snippet, in-memory files named by their relative names. */
  diagnostics: CodeDiagnostic[];
}

// Library and declaration files rarely change while a process runs: parse each once.
const sourceFileCache = new Map<string, CachedSourceFile>();

/**
 * Type-checks one snippet, synchronously, in the calling thread, through the confined compiler
 * host. The worker of `typeCheck` runs it; it is exported for that worker only.
 */
export function checkProgram(request: TypeCheckProgramRequest): TypeCheckProgramResult {
  const compiler = typescriptCompiler();
  const { projectDirectory } = request;
  const fileName = join(projectDirectory, request.fileName);
  const virtualFiles = new Map<string, string>();
  for (const [name, text] of Object.entries(request.files)) virtualFiles.set(join(projectDirectory, name), text);
  virtualFiles.set(fileName, request.code);
  const host = createConfinedCompilerHost({ compiler, projectDirectory, virtualFiles, sourceFileCache });
  const javascript = request.language === 'javascript';
  const compilerOptions: ts.CompilerOptions = {
    strict: true,
    target: compiler.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts'],
    module: compiler.ModuleKind.ESNext,
    moduleResolution: compiler.ModuleResolutionKind.Bundler,
    esModuleInterop: true,
    skipLibCheck: true,
    noEmit: true,
    allowJs: javascript,
    checkJs: javascript && request.checkJavaScript,
    types: hasNodeTypes(host, projectDirectory) ? ['node'] : [],
    ...request.compilerOptions,
  };
  try {
    const program = compiler.createProgram({ rootNames: [fileName], options: compilerOptions, host });
    // The snippet's own diagnostics, then those of the caller's in-memory files it imports (the
    // code under test, when the snippet is its tests), so an error is reported where it is.
    const sourceFiles = [fileName, ...[...virtualFiles.keys()].filter((path) => path !== fileName)]
      .map((path) => program.getSourceFile(path))
      .filter((sourceFile): sourceFile is ts.SourceFile => sourceFile !== undefined);
    const diagnostics = [
      ...program.getOptionsDiagnostics(),
      ...sourceFiles.flatMap((sourceFile) => [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)]),
    ].map((diagnostic) => {
      const result = toCodeDiagnostic(diagnostic, fileName, request.fileName);
      // Errors in the caller's other in-memory files are named as the caller named them.
      if (result.file !== undefined && virtualFiles.has(result.file)) result.file = relative(projectDirectory, result.file);
      return result;
    });
    return { ok: !diagnostics.some((diagnostic) => diagnostic.category === 'error'), diagnostics };
  } catch (error) {
    // The compiler's parser and checker recurse; code nested deeply enough overflows the stack.
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      // The overflow may have cut binding short in a cached file: parse everything afresh next time.
      sourceFileCache.clear();
      const message = 'The code is nested too deeply for the TypeScript compiler to check (it ran out of stack).';
      return { ok: false, diagnostics: [{ code: 0, category: 'error', message }] };
    }
    throw error;
  }
}

/** Whether `@types/node` is installed where the project resolves it (asked through the confined host). */
function hasNodeTypes(host: ts.CompilerHost, projectDirectory: string): boolean {
  let current = projectDirectory;
  for (;;) {
    if (host.fileExists(join(current, 'node_modules', '@types', 'node', 'package.json'))) return true;
    const parent = join(current, '..');
    if (parent === current) return false;
    current = parent;
  }
}
