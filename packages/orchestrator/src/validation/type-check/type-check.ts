import { isAbsolute, normalize, resolve } from 'node:path';
import type ts from 'typescript';
import { InvalidArgumentError, throwIfAborted } from '@codestack/core';
import type { CodeDiagnostic } from './type-check-diagnostics.js';
import { checkInWorker } from './type-check-worker-client.js';

export { formatDiagnostics, toCodeDiagnostic, type CodeDiagnostic } from './type-check-diagnostics.js';
export { TypeCheckTimeoutError } from './type-check-timeout-error.js';
export { TypeCheckWorkerError } from './type-check-worker-error.js';

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
   * checked as an in-memory file inside this directory. Defaults to `process.cwd()`. Only the
   * declaration files and `package.json` files of its (and its ancestors') `node_modules`,
   * packages linked there from inside the workspace, and TypeScript's own libraries are read:
   * the project's own source files are not, unless passed in {@link TypeCheckOptions.files}.
   */
  projectDirectory?: string;
  /**
   * The in-memory file's path relative to `projectDirectory` (such as `src/clamp.test.ts`), which
   * diagnostics name. Defaults to `snippet.ts` / `snippet.js`.
   */
  fileName?: string;
  /**
   * Further in-memory files the snippet may import, by path relative to `projectDirectory`, such
   * as `{ 'clamp.ts': source }` for `import { clamp } from './clamp.js'`. These, not the files on
   * disk, are what the check sees at those paths.
   */
  files?: Readonly<Record<string, string>>;
  /**
   * Compiler options merged over the defaults (strict, ES2023, ES modules resolved like a bundler).
   * They must be plain data (they are sent to the worker); paths in them are still confined.
   */
  compilerOptions?: ts.CompilerOptions;
  /**
   * Wall-time limit of the check in milliseconds (default 20000). A check that runs longer is
   * stopped and rejects with a `TypeCheckTimeoutError`. Loading the compiler into a fresh worker
   * does not count; parsing the standard library and `@types/node` on a fresh worker's first
   * check (about a second) does.
   */
  timeoutMilliseconds?: number;
  /** Cancels the check, stopping the compiler if it is running (rejects with an `AbortedError`). */
  signal?: AbortSignal;
}

/** What {@link typeCheck} found. */
export interface TypeCheckResult {
  /** Whether there were no error diagnostics. */
  ok: boolean;
  /** Every diagnostic for the snippet and for the in-memory `files` it imports (errors in other files only when they block it). */
  diagnostics: CodeDiagnostic[];
}

/** The default of {@link TypeCheckOptions.timeoutMilliseconds}. */
export const defaultTypeCheckTimeoutMilliseconds = 20_000;

/**
 * Type-checks a snippet with the TypeScript compiler API against the real declarations of its
 * dependencies: the snippet is an in-memory file placed in `projectDirectory`, the standard
 * library comes from the installed `typescript`, and imports and `@types` resolve through the
 * project's real `node_modules`.
 *
 * The check runs in a warm worker thread, through a compiler host that reads nothing but
 * declaration files and manifests in `node_modules`, TypeScript's libraries and the in-memory
 * files; a path outside them looks missing, so neither a diagnostic nor its absence tells whether
 * it exists. A check that passes `timeoutMilliseconds` or is aborted stops that worker.
 *
 * @throws InvalidArgumentError for bad options; `TypeCheckTimeoutError`, `AbortedError`, or
 * `TypeCheckWorkerError` when the worker is not built or fails.
 */
export async function typeCheck(options: TypeCheckOptions): Promise<TypeCheckResult> {
  if (typeof options.code !== 'string') {
    throw new InvalidArgumentError({ argument: 'code', message: 'must be a string' });
  }
  const language = options.language ?? 'typescript';
  if (language !== 'typescript' && language !== 'javascript') {
    throw new InvalidArgumentError({ argument: 'language', message: `must be 'typescript' or 'javascript', got '${String(language)}'` });
  }
  const timeoutMilliseconds = options.timeoutMilliseconds ?? defaultTypeCheckTimeoutMilliseconds;
  if (!Number.isFinite(timeoutMilliseconds) || timeoutMilliseconds <= 0) {
    throw new InvalidArgumentError({ argument: 'timeoutMilliseconds', message: `must be a positive number, got ${String(timeoutMilliseconds)}` });
  }
  const isInsideProject = (name: string, path: string): boolean =>
    !isAbsolute(name) && !path.startsWith('../') && path !== '..' && path !== '.' && !path.endsWith('/') && path !== '';
  const requestedName = options.fileName ?? (language === 'typescript' ? 'snippet.ts' : 'snippet.js');
  const fileName = typeof requestedName === 'string' ? normalize(requestedName).replaceAll('\\', '/') : '';
  if (typeof requestedName !== 'string' || requestedName === '' || !isInsideProject(requestedName, fileName)) {
    throw new InvalidArgumentError({ argument: 'fileName', message: `must be a file path inside the project directory, got '${String(requestedName)}'` });
  }
  const files: Record<string, string> = {};
  for (const [name, text] of Object.entries(options.files ?? {})) {
    const path = normalize(name).replaceAll('\\', '/');
    if (!isInsideProject(name, path)) {
      throw new InvalidArgumentError({ argument: 'files', message: `'${name}' must be a file path inside the project directory` });
    }
    if (typeof text !== 'string') throw new InvalidArgumentError({ argument: 'files', message: `the text of '${name}' must be a string` });
    if (path === fileName) throw new InvalidArgumentError({ argument: 'files', message: `'${name}' is the snippet's own file name` });
    files[path] = text;
  }
  let compilerOptions: ts.CompilerOptions;
  try {
    compilerOptions = structuredClone(options.compilerOptions ?? {});
  } catch (error) {
    throw new InvalidArgumentError({ argument: 'compilerOptions', message: 'must be plain data: it is sent to the type-check worker', cause: error });
  }
  throwIfAborted(options.signal, 'type check');
  return checkInWorker(
    {
      code: options.code,
      language,
      checkJavaScript: options.checkJavaScript === true,
      projectDirectory: resolve(options.projectDirectory ?? process.cwd()),
      fileName,
      files,
      compilerOptions,
    },
    { timeoutMilliseconds, signal: options.signal },
  );
}
