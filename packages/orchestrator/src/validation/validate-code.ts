import { posix } from 'node:path';
import { InvalidArgumentError, throwIfAborted } from '@codestack/core';
import { runInSandbox, type SandboxIsolation, type SandboxResult } from './sandbox/sandbox.js';
import { transpileTypeScript } from './transpile.js';
import { typeCheck, TypeCheckTimeoutError, type CodeDiagnostic } from './type-check/type-check.js';

/** Options of {@link validateCode}. */
export interface ValidateCodeOptions {
  /** The code under test. */
  code: string;
  /** `typescript` (default) or `javascript`. */
  language?: 'typescript' | 'javascript';
  /** Test code appended after `code` and run with it; without tests the code itself is run only if `run` is true. */
  tests?: string;
  /**
   * Where the code lives, relative to `projectDirectory` (such as `src/clamp.ts`): diagnostics
   * then name this file and its own lines instead of an anonymous snippet.
   */
  codeFile?: string;
  /**
   * Where the tests live, relative to `projectDirectory` (such as `src/clamp.test.ts`). With
   * `codeFile`, tests may import the code under test the usual way
   * (`import { clamp } from './clamp'`): the type check sees both files under their names, and in
   * the sandbox that import yields the code's exports.
   */
  testsFile?: string;
  /** Run the code (and tests) in the sandbox. Default: true when `tests` are given. */
  run?: boolean;
  /** Type-check before running. Default true. A failed check skips the run. */
  typeCheck?: boolean;
  /** The project whose `node_modules` resolves types and `require()`s. Default `process.cwd()`. */
  projectDirectory?: string;
  /** Sandbox wall-time limit. Default 5000 ms. */
  timeoutMilliseconds?: number;
  /** Sandbox memory limit. Default 256 MiB. */
  memoryLimitMegabytes?: number;
  /** Sandbox isolation: `auto` (default, the best available), `namespace` (or throw) or `guard`. */
  isolation?: SandboxIsolation;
  /** Cancels the validation. */
  signal?: AbortSignal;
}

/** What {@link validateCode} found. */
export interface ValidationReport {
  /** Whether the type check passed (or was skipped) and the run passed (or was skipped). */
  ok: boolean;
  /** Compiler diagnostics (empty when the check was skipped). */
  diagnostics: CodeDiagnostic[];
  /** The sandboxed run, when there was one. */
  run?: Pick<SandboxResult, 'status' | 'exitCode' | 'stdout' | 'stderr' | 'durationMilliseconds' | 'isolation'>;
}

/**
 * Validates code the way the pipeline and `codestack check` do: a type check with the compiler
 * API against the project's real types (code and tests together, so the tests' use of the code
 * is checked too), then, if it passed, the code and tests in the sandbox (TypeScript is
 * type-stripped first).
 */
export async function validateCode(options: ValidateCodeOptions): Promise<ValidationReport> {
  if (typeof options.code !== 'string') throw new InvalidArgumentError({ argument: 'code', message: 'must be a string' });
  const language = options.language ?? 'typescript';
  throwIfAborted(options.signal, 'validation');
  if (options.code.trim() === '') {
    return { ok: false, diagnostics: [{ code: 0, category: 'error', message: 'There is no code to validate: the answer was empty.' }] };
  }
  // Comments alone type-check and run cleanly; they are not an answer. (Stripping comment-like
  // text can only leave more behind, never less, so real code is never taken for comments.)
  if (options.code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '').trim() === '') {
    return { ok: false, diagnostics: [{ code: 0, category: 'error', message: 'There is no code to validate: the answer holds only comments.' }] };
  }
  const layout = fileLayout(options);
  const diagnostics =
    options.typeCheck === false
      ? []
      : await typeCheck({ ...layout.typeCheck, language, projectDirectory: options.projectDirectory, signal: options.signal }).then(
          (result) => result.diagnostics.map(layout.locate),
          // Code whose types the compiler cannot finish checking in time is invalid code, not a failed validation.
          (error: unknown): CodeDiagnostic[] => {
            if (TypeCheckTimeoutError.isInstance(error)) return [{ code: 0, category: 'error', message: error.message }];
            throw error;
          },
        );
  const typesOk = !diagnostics.some((diagnostic) => diagnostic.category === 'error');
  const shouldRun = options.run ?? options.tests !== undefined;
  if (!typesOk || !shouldRun) return { ok: typesOk, diagnostics };
  // Code and tests run as two separate scripts, so the code can neither read, absorb nor
  // silence the tests (see runInSandbox); the run passes only if the tests reach their end.
  const toJavaScript = (text: string): string => (language === 'typescript' ? transpileTypeScript(text).code : text);
  const result = await runInSandbox({
    code: toJavaScript(options.code),
    tests: options.tests === undefined ? undefined : toJavaScript(options.tests),
    codeModuleSpecifiers: layout.codeModuleSpecifiers,
    projectDirectory: options.projectDirectory,
    timeoutMilliseconds: options.timeoutMilliseconds ?? 5000,
    memoryLimitMegabytes: options.memoryLimitMegabytes ?? 256,
    isolation: options.isolation,
    signal: options.signal,
  });
  const { status, exitCode, stdout, stderr, durationMilliseconds, isolation } = result;
  return { ok: status === 'passed', diagnostics, run: { status, exitCode, stdout, stderr, durationMilliseconds, isolation } };
}

interface FileLayout {
  /** What the type check reads: one snippet, or the tests with the code beside them. */
  typeCheck: { code: string; fileName?: string; files?: Record<string, string> };
  /** Moves a diagnostic of the concatenated snippet to the file and line it came from. */
  locate: (diagnostic: CodeDiagnostic) => CodeDiagnostic;
  /** The tests' specifiers that name the code under test. */
  codeModuleSpecifiers: string[];
}

const moduleExtension = /\.(?:[cm]?[jt]s|[jt]sx)$/;

function checkRelativePath(value: unknown, argument: string): string {
  if (typeof value !== 'string' || value === '') throw new InvalidArgumentError({ argument, message: 'must be a non-empty path relative to projectDirectory' });
  const path = posix.normalize(value.replaceAll('\\', '/'));
  if (posix.isAbsolute(path) || path === '..' || path.startsWith('../')) {
    throw new InvalidArgumentError({ argument, message: `must be a path inside projectDirectory, got '${value}'` });
  }
  return path;
}

/**
 * How code and tests reach the type check and the sandbox. Tests that import the code file are
 * checked as their own file with the code file beside them; otherwise code and tests are checked
 * as one snippet (the tests use the code's declarations directly) and each diagnostic is moved
 * back to its own file and line.
 */
function fileLayout(options: ValidateCodeOptions): FileLayout {
  const codeFile = options.codeFile === undefined ? undefined : checkRelativePath(options.codeFile, 'codeFile');
  const testsFile = options.testsFile === undefined ? undefined : checkRelativePath(options.testsFile, 'testsFile');
  const tests = options.tests;
  if (tests === undefined) {
    return { typeCheck: { code: options.code, ...(codeFile ? { fileName: codeFile } : {}) }, locate: (diagnostic) => diagnostic, codeModuleSpecifiers: [] };
  }
  if (codeFile !== undefined && testsFile !== undefined) {
    if (codeFile === testsFile) throw new InvalidArgumentError({ argument: 'testsFile', message: 'must differ from codeFile' });
    const codeModule = codeFile.replace(moduleExtension, '');
    const specifiers = new Set<string>();
    for (const match of tests.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)(['"])(\.{1,2}\/[^'"\n]*)\1/g)) {
      const specifier = match[2] as string;
      if (posix.normalize(posix.join(posix.dirname(testsFile), specifier)).replace(moduleExtension, '') === codeModule) specifiers.add(specifier);
    }
    if (specifiers.size > 0) {
      return { typeCheck: { code: tests, fileName: testsFile, files: { [codeFile]: options.code } }, locate: (diagnostic) => diagnostic, codeModuleSpecifiers: [...specifiers] };
    }
  }
  const codeLines = options.code.split('\n').length;
  const locate = (diagnostic: CodeDiagnostic): CodeDiagnostic => {
    if (codeFile === undefined || diagnostic.file !== codeFile || diagnostic.line === undefined) return diagnostic;
    if (diagnostic.line <= codeLines) return diagnostic;
    return { ...diagnostic, file: testsFile ?? '(tests)', line: diagnostic.line - codeLines };
  };
  return { typeCheck: { code: `${options.code}\n${tests}\n`, ...(codeFile ? { fileName: codeFile } : {}) }, locate, codeModuleSpecifiers: [] };
}
