import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin, type BinRun } from './__fixtures__/run-bin.js';

// `codestack docs … --store postgres://…` as a user runs it: the built bin as a child process,
// against a PostgreSQL wire-protocol server (PGlite with pgvector behind a socket) on 127.0.0.1.
const password = 'hunter2-not-for-output';

function codestack(args: string[]): Promise<BinRun> {
  return runBin(args);
}

let database: PGlite | undefined;
let server: PGLiteSocketServer | undefined;
let url: string;
let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'codestack-docs-store-cli-'));
  database = await PGlite.create({ extensions: { vector } });
  server = new PGLiteSocketServer({ db: database, host: '127.0.0.1', port: 0, maxConnections: 4 });
  await server.start();
  url = `postgres://postgres:${password}@${server.getServerConn()}/postgres`;
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await database?.close();
  if (directory !== undefined) await rm(directory, { recursive: true, force: true });
});

describe('codestack docs --store', () => {
  it('indexes a package into a server store, searches it, and never prints the password', async () => {
    const indexed = await codestack(['docs', 'index', '@codestack/core', '--store', url]);
    expect(indexed.code, indexed.stderr).toBe(0);
    expect(indexed.stderr).toMatch(/load @codestack\/core: done/);
    expect(indexed.stderr).toMatch(/index: done/);
    expect(indexed.stdout).toMatch(/^Indexed \d+ entries into postgres:\/\//);

    const searched = await codestack(['docs', 'search', 'abort error when a signal is aborted', '--store', url, '--json', '-k', '3']);
    expect(searched.code, searched.stderr).toBe(0);
    const rows = JSON.parse(searched.stdout) as { name: string; package: string; kind: string }[];
    expect(rows.length).toBe(3);
    expect(rows[0]).toMatchObject({ name: '@codestack/core.AbortedError', package: '@codestack/core', kind: 'class' });

    const both = await codestack(['docs', 'search', 'abort', '--store', url, '--index', directory]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/one of --index DIR and --store URL/);
    expect(both.stdout).toBe('');

    for (const run of [indexed, searched, both]) {
      expect(run.stdout).not.toContain(password);
      expect(run.stderr).not.toContain(password);
    }
  }, 120_000);

  it("documents --store in 'docs', 'docs index --help' and 'docs search --help'", async () => {
    for (const words of [['docs', '--help'], ['docs', 'index', '--help'], ['docs', 'search', '--help']]) {
      const help = await codestack(words);
      expect(help.code, words.join(' ')).toBe(0);
      expect(help.stdout, words.join(' ')).toContain('--store URL');
    }
  });
});
