import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { AbortedError, InvalidArgumentError, throwIfAborted } from '@codestack/core';
import { sandboxGuardSource } from './sandbox-guard.js';
import { SandboxError, SandboxIsolationUnavailableError } from './sandbox-error.js';
import { guardCommand, namespaceCommand, probeSandboxIsolation, type SandboxIsolationLevel } from './sandbox-isolation.js';

export { probeSandboxIsolation, type SandboxIsolationLevel, type SandboxIsolationSupport } from './sandbox-isolation.js';

/** Which isolation a run asks for: the best available (`auto`, default), or exactly one level. */
export type SandboxIsolation = 'auto' | SandboxIsolationLevel;

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
  /**
   * Tests to run after `code`, as JavaScript. For CommonJS, the code runs as a global script and
   * the tests after it through a direct `eval` inside a function the harness made first: the tests
   * see the code's top-level declarations (as if concatenated), their own `var`s stay local, and the
   * code can neither read nor absorb the tests' text. A last expression that is a promise is
   * awaited. The run passes only if the tests ran to their end. For `module`, they are appended to
   * the code in one module.
   */
  tests?: string;
  /**
   * The specifiers by which the tests import the code under test (such as `./clamp` and
   * `./clamp.js` for tests written as `import { clamp } from './clamp'`). With CommonJS, a
   * `require` of one of them from the tests returns the code's own `exports`.
   */
  codeModuleSpecifiers?: readonly string[];
  /** `commonjs` (default) runs it as a CommonJS module, `module` as an `.mjs` ES module. */
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
  /** The most bytes the code may write to its temporary directory (and the largest file). Default 64 MiB. */
  maximumDiskBytes?: number;
  /**
   * `auto` (default): namespaces where the OS offers them, else the guard. `namespace`: throw a
   * {@link SandboxIsolationUnavailableError} where unavailable. `guard`: the in-process layer only.
   */
  isolation?: SandboxIsolation;
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
  /** Whether the code (and tests) ran to their end and the event loop drained cleanly (the harness's nonce arrived). */
  completed: boolean;
  /** Its standard output (truncated to `maximumOutputBytes`). */
  stdout: string;
  /** Its standard error (truncated to `maximumOutputBytes`), without Node's own experimental warnings. */
  stderr: string;
  /** Wall time from spawn to exit, in milliseconds. */
  durationMilliseconds: number;
  /** The largest resident set size seen while polling, in bytes (0 where `/proc` is unavailable). */
  peakResidentBytes: number;
  /** The isolation level the run got. */
  isolation: SandboxIsolationLevel;
}

const resourcePollMilliseconds = 25;
const diskPollEvery = 4;
const maximumReportBytes = 4096;
const sandboxPrefix = `codestack-sandbox-${process.pid}-`;
const sweepEveryMilliseconds = 2000;
const staleAfterMilliseconds = 60_000;
let sweptAt = Number.NEGATIVE_INFINITY;

/**
 * Runs untrusted JavaScript (and, separately, its tests) in a child process with a wall-time
 * limit, a memory limit, a disk budget, no network, no child processes, no reads outside the
 * project's real package paths and no writes outside its own temporary directory.
 *
 * Where the OS offers it (Linux with bubblewrap, or `unshare` with unprivileged user namespaces)
 * the child runs in its own user, PID, network and mount namespaces with a read-only view of the
 * file system and a size-limited tmpfs (`isolation: 'namespace'`); in every case Node's permission
 * model and the in-process guard (see `sandboxGuardSource`) run inside as well (`'guard'` alone
 * where namespaces are unavailable). The child gets an empty environment apart from `NODE_PATH`,
 * `RLIMIT_FSIZE`/`RLIMIT_NPROC` limits, its own process group (killed whole) and a parent-death
 * signal. A run passes only when the harness's per-run nonce arrives on fd 3 and it exits 0.
 * The temporary directory is removed afterwards. See `docs/sandbox.md` for the threat model.
 */
export async function runInSandbox(options: SandboxOptions): Promise<SandboxResult> {
  const timeoutMilliseconds = options.timeoutMilliseconds ?? 5000;
  const memoryLimitMegabytes = options.memoryLimitMegabytes ?? 256;
  const maximumOutputBytes = options.maximumOutputBytes ?? 65536;
  const maximumDiskBytes = options.maximumDiskBytes ?? 64 * 1024 * 1024;
  const requested = options.isolation ?? 'auto';
  if (typeof options.code !== 'string') {
    throw new InvalidArgumentError({ argument: 'code', message: 'must be a string of JavaScript' });
  }
  if (options.tests !== undefined && typeof options.tests !== 'string') {
    throw new InvalidArgumentError({ argument: 'tests', message: 'must be a string of JavaScript' });
  }
  if (!Number.isFinite(timeoutMilliseconds) || timeoutMilliseconds <= 0) {
    throw new InvalidArgumentError({ argument: 'timeoutMilliseconds', message: 'must be a positive number' });
  }
  if (!Number.isInteger(memoryLimitMegabytes) || memoryLimitMegabytes < 16) {
    throw new InvalidArgumentError({ argument: 'memoryLimitMegabytes', message: 'must be an integer of at least 16' });
  }
  if (!Number.isInteger(maximumDiskBytes) || maximumDiskBytes < 65536) {
    throw new InvalidArgumentError({ argument: 'maximumDiskBytes', message: 'must be an integer of at least 65536' });
  }
  if (requested !== 'auto' && requested !== 'namespace' && requested !== 'guard') {
    throw new InvalidArgumentError({ argument: 'isolation', message: "must be 'auto', 'namespace' or 'guard'" });
  }
  throwIfAborted(options.signal, 'sandbox run');
  const support = await probeSandboxIsolation();
  if (requested === 'namespace' && !support.namespace) {
    throw new SandboxIsolationUnavailableError({ level: 'namespace', reason: support.reason ?? 'unknown' });
  }
  const isolation: SandboxIsolationLevel = requested === 'guard' || !support.namespace ? 'guard' : 'namespace';
  if (performance.now() - sweptAt >= sweepEveryMilliseconds) {
    sweptAt = performance.now();
    await sweepStaleDirectories();
  }

  let directory: string;
  try {
    directory = await realpath(await mkdtemp(join(tmpdir(), sandboxPrefix)));
  } catch (error) {
    throw new SandboxError({ message: 'could not create the sandbox directory', cause: error });
  }
  try {
    const { nodeModules, packageRoots } = await projectRoots(options.projectDirectory ?? process.cwd());
    const extra = await Promise.all((options.readablePaths ?? []).map((path) => realpath(resolve(path)).catch(() => resolve(path))));
    const readableRoots = [...new Set([...packageRoots, ...extra])];
    const nonce = randomBytes(24).toString('hex');
    const nodeArguments = [
      '--experimental-permission',
      ...[...readableRoots, directory].map((path) => `--allow-fs-read=${path}`),
      `--allow-fs-write=${directory}`,
      `--max-old-space-size=${memoryLimitMegabytes}`,
      '--disable-warning=ExperimentalWarning',
      '-e',
      sandboxGuardSource,
    ];
    const plan = { launcher: support.launcher, tools: support.tools, workDirectory: directory, readableRoots, diskBytes: maximumDiskBytes, node: nodeArguments };
    const command = isolation === 'namespace' ? namespaceCommand(plan) : guardCommand(plan);
    const payload = JSON.stringify({
      nonce,
      code: options.code,
      tests: options.tests ?? null,
      codeModuleSpecifiers: (options.codeModuleSpecifiers ?? []).filter((specifier) => typeof specifier === 'string'),
      moduleType: options.moduleType ?? 'commonjs',
      workDirectory: directory,
      readableRoots,
    });
    return await supervise({
      command,
      directory,
      environment: { NODE_PATH: nodeModules.join(':') },
      payload,
      nonce,
      isolation,
      timeoutMilliseconds,
      memoryLimitBytes: memoryLimitMegabytes * 1024 * 1024,
      maximumOutputBytes,
      maximumDiskBytes,
      signal: options.signal,
    });
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * Removes the directories of earlier runs whose parent process died before it could clean up:
 * the parent's PID (in the name) is gone and the directory is untouched for a minute (so that a
 * live parent in another PID namespace sharing this temporary directory keeps its runs).
 */
async function sweepStaleDirectories(): Promise<void> {
  let names: string[];
  try {
    names = await readdir(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const match = /^codestack-sandbox-(\d+)-/.exec(name);
    if (!match || Number(match[1]) === process.pid) continue;
    try {
      process.kill(Number(match[1]), 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') continue;
      const path = join(tmpdir(), name);
      const modified = await lstat(path).then((status) => status.mtimeMs, () => Date.now());
      if (Date.now() - modified >= staleAfterMilliseconds) await rm(path, { recursive: true, force: true });
    }
  }
}

const projectRootsCache = new Map<string, Promise<{ nodeModules: string[]; packageRoots: string[] }>>();

/**
 * A project's `node_modules` directories and the package roots the child may read, found once per
 * process and project (walking `node_modules` and resolving its links on every run cost more than
 * many runs themselves); a package linked into `node_modules` later in the process is not seen.
 */
function projectRoots(projectDirectory: string): Promise<{ nodeModules: string[]; packageRoots: string[] }> {
  const key = resolve(projectDirectory);
  let roots = projectRootsCache.get(key);
  if (!roots) {
    roots = findNodeModules(key).then(async (nodeModules) => ({ nodeModules, packageRoots: await withLinkedPackages(nodeModules) }));
    roots.catch(() => projectRootsCache.delete(key));
    projectRootsCache.set(key, roots);
  }
  return roots;
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

/**
 * The `node_modules` directories plus the real directories their symbolic links point to outside
 * themselves (workspace packages such as `@codestack/core -> ../../packages/core`): the child may
 * read those packages' real files, but never the directories above them (the repository's `.env`).
 */
async function withLinkedPackages(nodeModules: readonly string[]): Promise<string[]> {
  const roots = new Set(nodeModules);
  const inside = (path: string, root: string): boolean => path === root || path.startsWith(root + sep);
  for (const directory of nodeModules) {
    const entries = await readdir(directory, { withFileTypes: true }).catch(() => []);
    const links: string[] = [];
    for (const entry of entries) {
      if (entry.isSymbolicLink()) links.push(join(directory, entry.name));
      else if (entry.isDirectory() && entry.name.startsWith('@')) {
        for (const scoped of await readdir(join(directory, entry.name), { withFileTypes: true }).catch(() => [])) {
          if (scoped.isSymbolicLink()) links.push(join(directory, entry.name, scoped.name));
        }
      }
    }
    for (const link of links) {
      const target = await realpath(link).catch(() => undefined);
      if (target && !nodeModules.some((root) => inside(target, root)) && (await lstat(target).then((status) => status.isDirectory(), () => false))) {
        roots.add(target);
      }
    }
  }
  return [...roots];
}

interface SuperviseOptions {
  command: string[];
  directory: string;
  environment: Record<string, string>;
  payload: string;
  nonce: string;
  isolation: SandboxIsolationLevel;
  timeoutMilliseconds: number;
  memoryLimitBytes: number;
  maximumOutputBytes: number;
  maximumDiskBytes: number;
  signal: AbortSignal | undefined;
}

type KillReason = 'timed-out' | 'memory-exceeded' | 'aborted' | 'report-flooded' | 'disk-exceeded';

function supervise(options: SuperviseOptions): Promise<SandboxResult> {
  return new Promise((resolvePromise, rejectPromise) => {
    const startedAt = performance.now();
    let child: ChildProcess;
    try {
      child = spawn(options.command[0]!, options.command.slice(1), {
        cwd: options.directory,
        env: options.environment,
        stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (error) {
      rejectPromise(new SandboxError({ message: 'could not start the sandbox process', cause: error }));
      return;
    }
    const stdout = new BoundedText(options.maximumOutputBytes);
    const stderr = new BoundedText(options.maximumOutputBytes);
    let report = '';
    let killedFor: KillReason | undefined;
    let peakResidentBytes = 0;
    let polls = 0;
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    const reportStream = child.stdio[3];
    reportStream?.on('data', (chunk: Buffer) => {
      if (report.length + chunk.length > maximumReportBytes) {
        kill('report-flooded');
        reportStream.destroy();
        return;
      }
      report += chunk.toString('utf8');
    });
    reportStream?.on('error', () => undefined);
    const instructions = child.stdio[4] as NodeJS.WritableStream | null;
    instructions?.on('error', () => undefined);
    instructions?.end(options.payload);

    const kill = (reason: KillReason): void => {
      killedFor ??= reason;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // The group is gone already.
        }
      }
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill('timed-out'), options.timeoutMilliseconds);
    const poller = setInterval(() => {
      if (child.pid === undefined) return;
      polls += 1;
      residentBytesOfTree(child.pid).then(
        (bytes) => {
          peakResidentBytes = Math.max(peakResidentBytes, bytes);
          // The heap limit is enforced by V8; the resident check catches buffers and other
          // off-heap allocations. The margin covers Node's own ~50 MiB baseline.
          if (bytes > options.memoryLimitBytes + 64 * 1024 * 1024) kill('memory-exceeded');
        },
        () => undefined,
      );
      // In the namespace the tmpfs is sized by the kernel; at the guard level the parent measures.
      if (options.isolation === 'guard' && polls % diskPollEvery === 0) {
        directorySize(options.directory, options.maximumDiskBytes).then(
          (bytes) => {
            if (bytes > options.maximumDiskBytes) kill('disk-exceeded');
          },
          () => undefined,
        );
      }
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
      // Whatever the child left behind in its group goes with it.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Nothing left.
        }
      }
      const durationMilliseconds = performance.now() - startedAt;
      if (killedFor === 'aborted') {
        rejectPromise(new AbortedError({ operation: 'sandbox run', cause: options.signal?.reason }));
        return;
      }
      let errorText = stderr.text();
      if (killedFor === 'report-flooded') errorText += `\nsandbox: ERR_SANDBOX_DENIED: more than ${maximumReportBytes} bytes were written to the report channel (fd 3)`;
      if (killedFor === 'disk-exceeded') errorText += `\nsandbox: ERR_SANDBOX_DENIED: the temporary directory grew past ${options.maximumDiskBytes} bytes`;
      const completed = report.split('\n').includes(options.nonce);
      let status: SandboxStatus;
      if (killedFor === 'report-flooded' || killedFor === 'disk-exceeded') status = 'denied';
      else if (killedFor) status = killedFor;
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
        isolation: options.isolation,
      });
    });
  });
}

/** The resident set of a process and its descendants (launchers, the namespace's init, node). */
async function residentBytesOfTree(pid: number, depth = 0): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  let total = match?.[1] ? Number(match[1]) * 1024 : 0;
  if (depth < 4) {
    const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
    for (const child of children.split(' ').filter(Boolean)) total += await residentBytesOfTree(Number(child), depth + 1).catch(() => 0);
  }
  return total;
}

/** The bytes of the files under `directory`; stops early (returning more than `limit`) past the limit or 10 000 entries. */
async function directorySize(directory: string, limit: number): Promise<number> {
  let total = 0;
  let entries = 0;
  const pending = [directory];
  while (pending.length > 0) {
    const current = pending.pop()!;
    for (const entry of await readdir(current, { withFileTypes: true }).catch(() => [])) {
      entries += 1;
      if (entries > 10000) return limit + 1;
      const path = join(current, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else total += await lstat(path).then((status) => status.size, () => 0);
      if (total > limit) return total;
    }
  }
  return total;
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
