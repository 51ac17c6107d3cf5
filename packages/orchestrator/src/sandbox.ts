import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { AbortedError, InvalidArgumentError, throwIfAborted } from '@codestack/core';
import { sandboxGuardSource } from './sandbox-guard.js';
import { SandboxError } from './sandbox-error.js';

/** How a sandboxed run ended. */
export type SandboxStatus =
  /** Exit code 0 after the event loop drained normally. */
  | 'passed'
  /** The code threw, exited non-zero, or ended early (for example through `process.exit`). */
  | 'failed'
  /** The code was denied a forbidden operation (file system, process, network) and did not recover. */
  | 'denied'
  /** The wall-time limit was reached; the process was killed. */
  | 'timed-out'
  /** The heap or resident memory limit was reached; the process was killed. */
  | 'memory-exceeded';

/** Options of {@link runInSandbox}. */
export interface SandboxOptions {
  /** The program to run, as JavaScript. */
  code: string;
  /** `commonjs` (default) runs it as a `.cjs` file, `module` as an `.mjs` file. */
  moduleType?: 'commonjs' | 'module';
  /**
   * The project whose dependencies the code may `require()`: every `node_modules` directory from
   * here up to the root becomes readable and is put on `NODE_PATH`. Defaults to `process.cwd()`.
   */
  projectDirectory?: string;
  /** Extra paths the code may read. */
  readablePaths?: readonly string[];
  /** Wall-time limit in milliseconds; the process is killed when it is reached. Default 5000. */
  timeoutMilliseconds?: number;
  /** Memory limit in MiB, applied to the V8 heap and, by polling, to the resident set. Default 256. */
  memoryLimitMegabytes?: number;
  /** The most bytes of stdout and of stderr kept. Default 65536 each. */
  maximumOutputBytes?: number;
  /** Cancels the run: the process is killed and an `AbortedError` is thrown. */
  signal?: AbortSignal;
}

/** What a sandboxed run did. */
export interface SandboxResult {
  /** How it ended. */
  status: SandboxStatus;
  /** The exit code, or `null` when it was killed by a signal. */
  exitCode: number | null;
  /** The signal that ended it, if any. */
  signal: NodeJS.Signals | null;
  /** Whether the code ran to the natural end of its event loop (the guard's completion nonce arrived). */
  completed: boolean;
  /** Its standard output (truncated to `maximumOutputBytes`). */
  stdout: string;
  /** Its standard error (truncated to `maximumOutputBytes`), without Node's own experimental warnings. */
  stderr: string;
  /** Wall time from spawn to exit, in milliseconds. */
  durationMilliseconds: number;
  /** The largest resident set size seen while polling, in bytes (0 where `/proc` is unavailable). */
  peakResidentBytes: number;
}

const resourcePollMilliseconds = 25;

/**
 * Runs untrusted JavaScript in a separate Node process with a wall-time limit, a memory limit,
 * and no file-system writes outside its own temporary directory, no child processes, no workers
 * and no network. Two layers enforce it: Node's permission model (`--experimental-permission`
 * with `--allow-fs-read` for the temporary directory and the project's `node_modules`, and
 * `--allow-fs-write` for the temporary directory only) and an in-process guard preloaded with
 * `--require` (see `sandboxGuardSource`). The child gets an empty environment apart from
 * `NODE_PATH`, so no secrets leak into it. The temporary directory is removed afterwards.
 */
export async function runInSandbox(options: SandboxOptions): Promise<SandboxResult> {
  const timeoutMilliseconds = options.timeoutMilliseconds ?? 5000;
  const memoryLimitMegabytes = options.memoryLimitMegabytes ?? 256;
  const maximumOutputBytes = options.maximumOutputBytes ?? 65536;
  if (typeof options.code !== 'string') {
    throw new InvalidArgumentError({ argument: 'code', message: 'must be a string of JavaScript' });
  }
  if (!Number.isFinite(timeoutMilliseconds) || timeoutMilliseconds <= 0) {
    throw new InvalidArgumentError({ argument: 'timeoutMilliseconds', message: 'must be a positive number' });
  }
  if (!Number.isInteger(memoryLimitMegabytes) || memoryLimitMegabytes < 16) {
    throw new InvalidArgumentError({ argument: 'memoryLimitMegabytes', message: 'must be an integer of at least 16' });
  }
  throwIfAborted(options.signal, 'sandbox run');

  let directory: string;
  try {
    directory = await realpath(await mkdtemp(join(tmpdir(), 'codestack-sandbox-')));
  } catch (error) {
    throw new SandboxError({ message: 'could not create the sandbox directory', cause: error });
  }
  try {
    const guardPath = join(directory, 'guard.cjs');
    const programPath = join(directory, options.moduleType === 'module' ? 'main.mjs' : 'main.cjs');
    await writeFile(guardPath, sandboxGuardSource);
    await writeFile(programPath, options.code);
    const nodeModules = await findNodeModules(options.projectDirectory ?? process.cwd());
    const readable = [directory, ...nodeModules, ...(options.readablePaths ?? []).map((path) => resolve(path))];
    const nonce = randomBytes(16).toString('hex');
    const argumentsList = [
      '--experimental-permission',
      ...readable.map((path) => `--allow-fs-read=${path}`),
      `--allow-fs-write=${directory}`,
      `--max-old-space-size=${memoryLimitMegabytes}`,
      '--disable-warning=ExperimentalWarning',
      '--require',
      guardPath,
      programPath,
    ];
    return await supervise({
      argumentsList,
      directory,
      environment: { NODE_PATH: nodeModules.join(':'), CODESTACK_SANDBOX_NONCE: nonce },
      nonce,
      timeoutMilliseconds,
      memoryLimitBytes: memoryLimitMegabytes * 1024 * 1024,
      maximumOutputBytes,
      signal: options.signal,
    });
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

async function findNodeModules(start: string): Promise<string[]> {
  const found: string[] = [];
  let current = resolve(start);
  for (;;) {
    const candidate = join(current, 'node_modules');
    if (existsSync(candidate)) found.push(await realpath(candidate));
    const parent = dirname(current);
    if (parent === current) return found;
    current = parent;
  }
}

interface SuperviseOptions {
  argumentsList: string[];
  directory: string;
  environment: Record<string, string>;
  nonce: string;
  timeoutMilliseconds: number;
  memoryLimitBytes: number;
  maximumOutputBytes: number;
  signal: AbortSignal | undefined;
}

function supervise(options: SuperviseOptions): Promise<SandboxResult> {
  return new Promise((resolvePromise, rejectPromise) => {
    const startedAt = performance.now();
    let child;
    try {
      child = spawn(process.execPath, options.argumentsList, {
        cwd: options.directory,
        env: options.environment,
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      });
    } catch (error) {
      rejectPromise(new SandboxError({ message: 'could not start the sandbox process', cause: error }));
      return;
    }
    const stdout = new BoundedText(options.maximumOutputBytes);
    const stderr = new BoundedText(options.maximumOutputBytes);
    let report = '';
    let killedFor: 'timed-out' | 'memory-exceeded' | 'aborted' | undefined;
    let peakResidentBytes = 0;
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdio[3]?.on('data', (chunk: Buffer) => {
      report += chunk.toString('utf8');
    });
    child.stdio[3]?.on('error', () => undefined);

    const kill = (reason: 'timed-out' | 'memory-exceeded' | 'aborted'): void => {
      killedFor ??= reason;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill('timed-out'), options.timeoutMilliseconds);
    const statusPath = `/proc/${child.pid}/status`;
    const poller = setInterval(() => {
      readFile(statusPath, 'utf8').then(
        (text) => {
          const match = /VmRSS:\s+(\d+)\s+kB/.exec(text);
          if (!match?.[1]) return;
          const bytes = Number(match[1]) * 1024;
          peakResidentBytes = Math.max(peakResidentBytes, bytes);
          // The heap limit is enforced by V8; the resident check catches buffers and other
          // off-heap allocations. The margin covers Node's own ~50 MiB baseline.
          if (bytes > options.memoryLimitBytes + 64 * 1024 * 1024) kill('memory-exceeded');
        },
        () => undefined,
      );
    }, resourcePollMilliseconds);
    const onAbort = (): void => kill('aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });

    child.on('error', (error) => {
      clearTimeout(timer);
      clearInterval(poller);
      options.signal?.removeEventListener('abort', onAbort);
      rejectPromise(new SandboxError({ message: 'the sandbox process failed', cause: error }));
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      clearInterval(poller);
      options.signal?.removeEventListener('abort', onAbort);
      const durationMilliseconds = performance.now() - startedAt;
      if (killedFor === 'aborted') {
        rejectPromise(new AbortedError({ operation: 'sandbox run', cause: options.signal?.reason }));
        return;
      }
      const errorText = stderr.text();
      const completed = report.split('\n').includes(options.nonce);
      let status: SandboxStatus;
      if (killedFor) status = killedFor;
      else if (/Reached heap limit|JavaScript heap out of memory|Fatal JavaScript invalid size error/.test(errorText)) {
        status = 'memory-exceeded';
      } else if (exitCode === 0 && completed) status = 'passed';
      else if (/ERR_ACCESS_DENIED|ERR_SANDBOX_DENIED/.test(errorText)) status = 'denied';
      else status = 'failed';
      resolvePromise({
        status,
        exitCode,
        signal,
        completed,
        stdout: stdout.text(),
        stderr: errorText,
        durationMilliseconds,
        peakResidentBytes,
      });
    });
  });
}

/** Keeps the first `limit` bytes of a stream and drops the rest (while still draining it). */
class BoundedText {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private truncated = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    if (this.size >= this.limit) {
      this.truncated = true;
      return;
    }
    const room = this.limit - this.size;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept.length < chunk.length) this.truncated = true;
    this.chunks.push(kept);
    this.size += kept.length;
  }

  text(): string {
    const text = Buffer.concat(this.chunks).toString('utf8');
    return this.truncated ? `${text}\n[output truncated]` : text;
  }
}
