import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where a throwaway server can come from, or why it cannot. */
export type PostgresInstallation =
  | { available: true; binDirectory: string; version: string; runAs?: { user: string; uid: number; gid: number }; hasVector: boolean }
  | { available: false; reason: string };

/**
 * Looks for a PostgreSQL installation (`initdb`, `pg_ctl`, `postgres` in `/usr/lib/postgresql/N/bin`
 * or on `PATH`) and for pgvector's `vector.control` beside it. PostgreSQL refuses to run as root, so
 * as root it runs as the `postgres` user through `runuser`, when both exist.
 */
export function findPostgresInstallation(): PostgresInstallation {
  const candidates: string[] = [];
  if (existsSync('/usr/lib/postgresql')) {
    const versions = readdirSync('/usr/lib/postgresql').filter((name) => /^\d+$/.test(name)).sort((left, right) => Number(right) - Number(left));
    for (const version of versions) candidates.push(`/usr/lib/postgresql/${version}/bin`);
  }
  for (const directory of (process.env.PATH ?? '').split(':')) if (directory !== '') candidates.push(directory);
  const binDirectory = candidates.find((directory) => ['initdb', 'pg_ctl', 'postgres'].every((name) => existsSync(join(directory, name))));
  if (binDirectory === undefined) return { available: false, reason: 'no PostgreSQL server (initdb, pg_ctl, postgres) is installed' };
  let version: string;
  try {
    version = execFileSync(join(binDirectory, 'postgres'), ['--version'], { encoding: 'utf8' }).trim();
  } catch (error) {
    return { available: false, reason: `${binDirectory}/postgres --version failed: ${String(error)}` };
  }
  const major = /(\d+)(\.\d+)?/.exec(version)?.[1] ?? '';
  const hasVector = [
    `/usr/share/postgresql/${major}/extension/vector.control`,
    join(binDirectory, '..', 'share', 'extension', 'vector.control'),
    join(binDirectory, '..', 'share', 'postgresql', 'extension', 'vector.control'),
  ].some((path) => existsSync(path));
  if (process.getuid?.() !== 0) return { available: true, binDirectory, version, hasVector };
  if (!existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser')) return { available: false, reason: 'running as root, and runuser (to start PostgreSQL as another user) is missing' };
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { available: true, binDirectory, version, runAs: { user: 'postgres', uid, gid }, hasVector };
  } catch {
    return { available: false, reason: 'running as root, and there is no postgres user to start PostgreSQL as (it refuses root)' };
  }
}

/** A throwaway PostgreSQL server: its own data directory and port on 127.0.0.1, trust authentication. */
export interface ThrowawayPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`. */
  connectionString: string;
  /** The connection string of database `name` on the same server. */
  connectionStringOf(name: string): string;
  /** Stops the server (immediate shutdown) and deletes its directory. */
  stop(): Promise<void>;
}

/** The limits on `initdb`, `pg_ctl start` and stopping a server that did not start, in milliseconds. */
const initdbTimeout = 120_000;
const startTimeout = 150_000;
const stopTimeout = 45_000;

/**
 * The longest {@link startThrowawayPostgres} can take: `initdb`, `pg_ctl start`, and stopping what a
 * failed start left running, plus a margin. A hook that starts a server needs a longer timeout than
 * this, or a slow start outlives it and leaves a server nothing stops.
 */
export const throwawayPostgresStartLimit = initdbTimeout + startTimeout + stopTimeout + 30_000;

/** The longest {@link ThrowawayPostgres.stop} can take, plus a margin. */
export const throwawayPostgresStopLimit = stopTimeout + 15_000;

/**
 * Starts a throwaway server with `installation`: `initdb` into a temporary directory, `pg_ctl
 * start` on a free loopback port with its socket in that directory (fsync off: nothing here must
 * survive a crash).
 */
export async function startThrowawayPostgres(installation: Extract<PostgresInstallation, { available: true }>): Promise<ThrowawayPostgres> {
  const directory = await mkdtemp(join(tmpdir(), 'codestack-postgres-'));
  const dataDirectory = join(directory, 'data');
  const asServerUser = (program: string, args: string[]): [string, string[]] =>
    installation.runAs === undefined ? [join(installation.binDirectory, program), args] : ['runuser', ['-u', installation.runAs.user, '--', join(installation.binDirectory, program), ...args]];
  const stopServer = (): Promise<void> => stopPostgres(dataDirectory, asServerUser);
  let port: number;
  try {
    if (installation.runAs !== undefined) chownSync(directory, installation.runAs.uid, installation.runAs.gid);
    port = await freePort();
    await run(...asServerUser('initdb', ['-D', dataDirectory, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']), { timeout: initdbTimeout });
    await run(
      ...asServerUser('pg_ctl', [
        '-D',
        dataDirectory,
        '-l',
        join(directory, 'server.log'),
        '-o',
        `-p ${port} -k ${directory} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
        '-w',
        '-t',
        '120',
        'start',
      ]),
      { timeout: startTimeout },
    );
  } catch (error) {
    // pg_ctl forks the server and then waits for it: when it fails or is killed on its timeout, the
    // server may be running (or still starting) on this directory. Stop it before deleting it.
    await stopServer();
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const connectionStringOf = (name: string): string => `postgres://postgres@127.0.0.1:${port}/${name}`;
  return {
    connectionString: connectionStringOf('postgres'),
    connectionStringOf,
    stop: async () => {
      await stopServer();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * Stops the server of `dataDirectory`, if one runs: `pg_ctl stop` in immediate mode, then, when a
 * `postmaster.pid` is still there, SIGKILL to the process it names, but only if that process is a
 * postgres on this very directory (a stale file's pid may since belong to something else).
 */
async function stopPostgres(dataDirectory: string, asServerUser: (program: string, args: string[]) => [string, string[]]): Promise<void> {
  if (!existsSync(dataDirectory)) return;
  await run(...asServerUser('pg_ctl', ['-D', dataDirectory, '-m', 'immediate', '-w', '-t', '30', 'stop']), { timeout: stopTimeout - 5_000 }).catch(() => undefined);
  const pid = await readFile(join(dataDirectory, 'postmaster.pid'), 'utf8').then(
    (text) => Number(text.split('\n')[0]),
    () => Number.NaN,
  );
  if (!Number.isInteger(pid) || pid <= 0) return;
  const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!command.split('\0').includes(dataDirectory)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
  // A killed postmaster's children exit once they notice it is gone; wait briefly for them.
  for (let waited = 0; waited < 5_000 && existsSync(`/proc/${pid}`); waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
