import { InvalidArgumentError, throwIfAborted } from '@codestack/core';
import { runInSandbox, type SandboxIsolation, type SandboxResult } from './sandbox.js';
import { transpileTypeScript } from './transpile.js';
import { typeCheck, TypeCheckTimeoutError, type CodeDiagnostic } from './type-check.js';

/** Options of {@link validateCode}. */
export interface ValidateCodeOptions {
  /** The code under test. */
  code: string;
  /** `typescript` (default) or `javascript`. */
  language?: 'typescript' | 'javascript';
  /** Test code appended after `code` and run with it; without tests the code itself is run only if `run` is true. */
  tests?: string;
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
  const source = options.tests ? `${options.code}\n${options.tests}\n` : options.code;
  throwIfAborted(options.signal, 'validation');
  if (options.code.trim() === '') {
    return { ok: false, diagnostics: [{ code: 0, category: 'error', message: 'There is no code to validate: the answer was empty.' }] };
  }
  // Comments alone type-check and run cleanly; they are not an answer. (Stripping comment-like
  // text can only leave more behind, never less, so real code is never taken for comments.)
  if (options.code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '').trim() === '') {
    return { ok: false, diagnostics: [{ code: 0, category: 'error', message: 'There is no code to validate: the answer holds only comments.' }] };
  }
  const diagnostics =
    options.typeCheck === false
      ? []
      : await typeCheck({ code: source, language, projectDirectory: options.projectDirectory, signal: options.signal }).then(
          (result) => result.diagnostics,
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
    projectDirectory: options.projectDirectory,
    timeoutMilliseconds: options.timeoutMilliseconds ?? 5000,
    memoryLimitMegabytes: options.memoryLimitMegabytes ?? 256,
    isolation: options.isolation,
    signal: options.signal,
  });
  const { status, exitCode, stdout, stderr, durationMilliseconds, isolation } = result;
  return { ok: status === 'passed', diagnostics, run: { status, exitCode, stdout, stderr, durationMilliseconds, isolation } };
}
