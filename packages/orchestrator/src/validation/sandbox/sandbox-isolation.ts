import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

/** The isolation a sandboxed run got. */
export type SandboxIsolationLevel =
  /**
   * Its own user, PID, network and mount namespaces (bubblewrap, or `unshare` from util-linux),
   * a read-only view of the file system, a size-limited tmpfs as its only writable directory, plus
   * everything of the `guard` level inside.
   */
  | 'namespace'
  /** The same kernel view as the parent: Node's permission model plus the in-process guard only. */
  | 'guard';

/** What the isolation probe found on this machine (see {@link probeSandboxIsolation}). */
export interface SandboxIsolationSupport {
  /** Whether the `namespace` level works here. */
  namespace: boolean;
  /** The tool that provides it: `bubblewrap` (preferred) or `unshare`. */
  launcher?: 'bubblewrap' | 'unshare';
  /** Why the `namespace` level is unavailable, when it is. */
  reason?: string;
  /** Absolute paths of the helpers found (`bwrap`, `unshare`, `prlimit`, `setpriv`, `sh`, `chroot`). */
  tools: Partial<Record<'bwrap' | 'unshare' | 'prlimit' | 'setpriv' | 'sh' | 'chroot', string>>;
}

let probed: Promise<SandboxIsolationSupport> | undefined;

/**
 * Finds out once per process whether the `namespace` isolation level works here: on Linux it
 * runs the real launcher (bubblewrap, else `unshare`) once with a trivial command, and caches the
 * answer. Never throws; an unavailable level comes with a `reason`.
 */
export function probeSandboxIsolation(): Promise<SandboxIsolationSupport> {
  probed ??= probe();
  return probed;
}

async function probe(): Promise<SandboxIsolationSupport> {
  const tools: SandboxIsolationSupport['tools'] = {};
  for (const name of ['bwrap', 'unshare', 'prlimit', 'setpriv', 'sh', 'chroot'] as const) {
    const found = findExecutable(name);
    if (found) tools[name] = found;
  }
  if (process.platform !== 'linux') return { namespace: false, reason: `namespaces need Linux, this is ${process.platform}`, tools };
  const reasons: string[] = [];
  const probeDirectory = realpathSync(tmpdir());
  if (tools.bwrap) {
    const command = namespaceCommand({ launcher: 'bubblewrap', tools, workDirectory: '/tmp', readableRoots: [], diskBytes: 1 << 20, node: ['-e', '0'] });
    const outcome = await runQuietly(command[0]!, command.slice(1));
    if (outcome === undefined) return { namespace: true, launcher: 'bubblewrap', tools };
    reasons.push(`bwrap failed (${outcome})`);
  } else reasons.push('bwrap is not installed');
  if (tools.unshare && tools.sh && tools.chroot) {
    const command = namespaceCommand({ launcher: 'unshare', tools, workDirectory: probeDirectory, readableRoots: [], diskBytes: 1 << 20, node: ['-e', '0'] });
    const outcome = await runQuietly(command[0]!, command.slice(1));
    if (outcome === undefined) return { namespace: true, launcher: 'unshare', tools };
    reasons.push(`unshare failed (${outcome})`);
  } else reasons.push('unshare, sh or chroot is not installed');
  return { namespace: false, reason: reasons.join('; '), tools };
}

function findExecutable(name: string): string | undefined {
  const directories = (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter);
  for (const directory of [...directories, '/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    if (!directory) continue;
    const candidate = join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      return realpathSync(candidate);
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** Runs a command with a 5 s limit; resolves `undefined` on exit code 0, else a short reason. */
function runQuietly(command: string, args: readonly string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    let stderr = '';
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env: {}, timeout: 5000, killSignal: 'SIGKILL' });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 500) stderr += chunk.toString('utf8');
    });
    child.on('error', (error) => resolve(error.message));
    child.on('close', (code, signal) => resolve(code === 0 ? undefined : `${signal ?? `exit ${code}`}: ${stderr.trim().split('\n')[0] ?? ''}`));
  });
}

/** What {@link namespaceCommand} and {@link guardCommand} need. */
export interface LaunchPlan {
  /** Which namespace launcher to use (ignored by {@link guardCommand}). */
  launcher?: 'bubblewrap' | 'unshare';
  /** Helpers found by the probe. */
  tools: SandboxIsolationSupport['tools'];
  /** The run's writable directory (a real path); in the namespace it becomes a sized tmpfs. */
  workDirectory: string;
  /** Real paths the run may read (bound read-only into the namespace). */
  readableRoots: readonly string[];
  /** The size of the writable directory (tmpfs size) and the largest file (`RLIMIT_FSIZE`). */
  diskBytes: number;
  /** Node's arguments (flags, `-e`, the guard source). */
  node: readonly string[];
}

const maximumTasks = 128;

/** Prefixes the resource limits (`prlimit`) and the parent-death signal (`setpriv`) where available. */
function limits(plan: LaunchPlan, withDeathSignal: boolean): string[] {
  const prefix: string[] = [];
  if (plan.tools.prlimit) prefix.push(plan.tools.prlimit, `--fsize=${plan.diskBytes}`, `--nproc=${maximumTasks}`, `--core=0`, '--');
  if (withDeathSignal && plan.tools.setpriv) prefix.push(plan.tools.setpriv, '--pdeathsig', 'KILL', '--');
  return prefix;
}

/** The command line of a `guard`-level run: limits, parent-death signal, then node itself. */
export function guardCommand(plan: LaunchPlan): string[] {
  return [...limits(plan, true), realpathSync(process.execPath), ...plan.node];
}

/** What the new root holds besides the readable roots: `[path]` to bind, `[path, target]` for a link. */
function systemPaths(node: string): Array<[string, string | undefined]> {
  const paths: Array<[string, string | undefined]> = [['/usr', undefined]];
  for (const top of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    const status = lstatSync(top, { throwIfNoEntry: false });
    if (!status) continue;
    if (status.isSymbolicLink()) paths.push([top, readlinkSync(top)]);
    else if (status.isDirectory()) paths.push([top, undefined]);
  }
  const nodePrefix = dirname(dirname(node));
  if (nodePrefix !== '/usr' && nodePrefix !== '/') paths.push([nodePrefix, undefined]);
  if (existsSync('/etc/localtime')) paths.push(['/etc/localtime', undefined]);
  return paths;
}

/** The command line of a `namespace`-level run with bubblewrap or `unshare`. */
export function namespaceCommand(plan: LaunchPlan): string[] {
  const node = realpathSync(process.execPath);
  if (plan.launcher === 'bubblewrap') {
    const args = [plan.tools.bwrap!, '--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL'];
    for (const [source, target] of systemPaths(node)) args.push(...(target === undefined ? ['--ro-bind', source, source] : ['--symlink', target, source]));
    for (const root of [...plan.readableRoots].sort((a, b) => a.length - b.length)) args.push('--ro-bind', root, root);
    args.push('--proc', '/proc', '--dev', '/dev', '--size', String(plan.diskBytes), '--tmpfs', plan.workDirectory, '--remount-ro', '/', '--chdir', plan.workDirectory);
    args.push('--', node, ...plan.node);
    return [...limits(plan, false), ...args];
  }
  // unshare: as the namespace's root, build a new root on a small tmpfs mounted over the work
  // directory (read-only binds of /usr, Node and the readable roots, a fresh /proc, four devices,
  // a sized tmpfs as the work directory), remount it read-only and chroot into it, so that only
  // what is bound in exists. --kill-child ends the namespace with unshare.
  const script = [
    'set -e',
    'work=$1; size=$2; chroot_command=$3; shift 3',
    'root=$work',
    'mount -t tmpfs -o size=4m,mode=0755 tmpfs "$root"',
    'while [ "$1" != "--" ]; do',
    '  if [ "$1" = link ]; then mkdir -p "$root$(dirname "$2")"; ln -s "$3" "$root$2"; shift 3; continue; fi',
    '  if [ -d "$2" ]; then mkdir -p "$root$2"; else mkdir -p "$root$(dirname "$2")"; : > "$root$2"; fi',
    '  mount --rbind "$2" "$root$2"; mount -o remount,bind,ro "$root$2" 2>/dev/null || true; shift 2',
    'done',
    'shift',
    'mkdir -p "$root/proc" "$root/dev" "$root$work"',
    'mount -t proc proc "$root/proc"',
    'for device in null zero random urandom; do : > "$root/dev/$device"; mount --bind "/dev/$device" "$root/dev/$device"; done',
    'mount -t tmpfs -o "size=$size,mode=0700" tmpfs "$root$work"',
    'mount -o remount,ro "$root"',
    'exec "$chroot_command" "$root" /bin/sh -c \'cd "$0" && exec "$@"\' "$work" "$@"',
  ].join('\n');
  const binds: string[] = [];
  for (const [source, target] of systemPaths(node)) binds.push(...(target === undefined ? ['bind', source] : ['link', source, target]));
  for (const root of [...plan.readableRoots].sort((a, b) => a.length - b.length)) binds.push('bind', root);
  return [
    ...limits(plan, true),
    plan.tools.unshare!,
    '--user',
    '--map-root-user',
    '--pid',
    '--fork',
    '--net',
    '--mount',
    '--mount-proc',
    '--kill-child',
    '--',
    plan.tools.sh!,
    '-c',
    script,
    'sandbox',
    plan.workDirectory,
    String(plan.diskBytes),
    plan.tools.chroot!,
    ...binds,
    '--',
    node,
    ...plan.node,
  ];
}
