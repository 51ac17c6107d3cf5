import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import type { DocEntry } from './doc-entry.js';
import { DocsIndex } from './docs-index.js';
import { DocsStoreError } from './docs-store-error.js';
import { sampleEntries } from './__fixtures__/sample-entries.js';
import { describePostgresDocsStoreConformance } from './__fixtures__/postgres-docs-store-conformance.js';
import { LocalEmbedder } from './local-embedder.js';
import { PostgresDocsStore, pgvectorFeatures } from './postgres-docs-store.js';
import type { PostgresClient } from './postgres-session.js';
import { runDocsCommand } from './docs-command.js';
import { Writable } from 'node:stream';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const names = (results: { entry: DocEntry }[]): string[] => results.map((result) => result.entry.name);

let embedder: LocalEmbedder;

beforeAll(async () => {
  embedder = await LocalEmbedder.fit(
    sampleEntries().map((entry) => `${entry.name} ${entry.summary}`),
    { dimension: 64 },
  );
}, 120_000);

// The wire protocol with the real pg client, served by PGlite through @electric-sql/pglite-socket:
// each test gets its own PGlite database behind its own socket server.
describePostgresDocsStoreConformance('pg client over the wire protocol, PGlite socket server', () => ({
  cancelsRunningStatements: false,
  createDatabase: async () => {
    const database = await PGlite.create({ extensions: { vector } });
    const server = new PGLiteSocketServer({ db: database, host: '127.0.0.1', port: 0, maxConnections: 16 });
    await server.start();
    return {
      connectionString: `postgres://postgres@${server.getServerConn()}/postgres`,
      close: async () => {
        await server.stop();
        await database.close();
      },
    };
  },
}));

describe('PostgresDocsStore.connect', () => {
  it('refuses a connection string of another scheme, and reports a refused connection as a DocsStoreError', async () => {
    await expect(PostgresDocsStore.connect({ connectionString: 'mysql://localhost/docs' })).rejects.toThrow(InvalidArgumentError);
    await expect(PostgresDocsStore.connect({})).rejects.toThrow(InvalidArgumentError);
    await expect(PostgresDocsStore.connect({ connectionString: 'postgres://postgres@127.0.0.1:1/postgres' })).rejects.toThrow(DocsStoreError);
  });
});

describe('PostgresDocsStore embedded on PGlite', () => {
  it('runs the same code over a PGlite client', async () => {
    const embedded = await PGlite.create({ extensions: { vector } });
    try {
      const store = await PostgresDocsStore.connect({ client: embedded });
      // PGlite runs a statement to its end: an AbortSignal is checked between statements only.
      expect(store.cancelsRunningStatements).toBe(false);
      const index = await DocsIndex.open({ store, embedder });
      await index.upsert(sampleEntries());
      expect(names(await index.search('read a whole file as text', { topK: 1 }))).toEqual(['files.readText']);
      expect(await index.deletePackage('other')).toBe(2);
      expect((await store.packages()).map((row) => row.package)).toEqual(['demo']);
      await store.close();
      // The caller's client stays open.
      expect((await embedded.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await embedded.close();
    }
  }, 120_000);
});

describe('the pgvector version', () => {
  it('is read from extversion: 0.5 is the oldest the store runs on, 0.8 the first with the iterative scan', () => {
    expect(pgvectorFeatures('0.8.6')).toEqual({ supported: true, iterativeScan: true });
    expect(pgvectorFeatures('0.8.0')).toEqual({ supported: true, iterativeScan: true });
    expect(pgvectorFeatures('0.10.0')).toEqual({ supported: true, iterativeScan: true });
    expect(pgvectorFeatures('1.0')).toEqual({ supported: true, iterativeScan: true });
    expect(pgvectorFeatures('0.7.4')).toEqual({ supported: true, iterativeScan: false });
    expect(pgvectorFeatures('0.5.0')).toEqual({ supported: true, iterativeScan: false });
    expect(pgvectorFeatures('0.4.4')).toEqual({ supported: false, iterativeScan: false });
    expect(pgvectorFeatures(undefined)).toEqual({ supported: true, iterativeScan: false });
  });

  it('decides whether a search sets hnsw.iterative_scan, and refuses a pgvector without HNSW', async () => {
    const embedded = await PGlite.create({ extensions: { vector } });
    try {
      // PGlite's own pgvector, reported as another version; the settings a search sends are recorded.
      const reporting = (extversion: string, sent: unknown[][]): PostgresClient => ({
        query: async (text, values) => (/FROM pg_extension/.test(text) ? { rows: [{ extversion }] } : embedded.query(text, values)),
        transaction: (work) =>
          embedded.transaction((inner) =>
            work({
              query: (text, values) => {
                sent.push(values ?? []);
                return inner.query(text, values);
              },
            }),
          ),
      });
      const sent: unknown[][] = [];
      const filtered = { topK: 1, filter: { package: 'demo' } };
      const store = await PostgresDocsStore.connect({ client: reporting('0.7.4', sent) });
      const index = await DocsIndex.open({ store, embedder });
      await index.upsert(sampleEntries());
      sent.length = 0;
      expect(names(await index.search('read a whole file as text', filtered))).toEqual(['files.readText']);
      expect(sent.flat()).toContain('hnsw.ef_search');
      expect(sent.flat()).not.toContain('hnsw.iterative_scan');
      await store.close();
      const current = await PostgresDocsStore.connect({ client: reporting('0.8.7', sent) });
      sent.length = 0;
      const currentIndex = await DocsIndex.open({ store: current, embedder });
      // The setting's value follows its name: relaxed order for a filtered search, off for another.
      const iterativeScan = (): unknown => sent.flat()[sent.flat().indexOf('hnsw.iterative_scan') + 1];
      expect(names(await currentIndex.search('read a whole file as text', filtered))).toEqual(['files.readText']);
      expect(sent.flat()).toContain('hnsw.iterative_scan');
      expect(iterativeScan()).toBe('relaxed_order');
      sent.length = 0;
      expect(names(await currentIndex.search('read a whole file as text', { topK: 1 }))).toEqual(['files.readText']);
      expect(iterativeScan()).toBe('off');
      await current.close();
      const refused = await PostgresDocsStore.connect({ client: reporting('0.4.4', sent) }).catch((error: unknown) => error);
      expect(DocsStoreError.isInstance(refused) && refused.reason).toBe('database');
      expect((refused as Error).message).toMatch(/pgvector 0\.4\.4.*0\.5\.0 or later/);
    } finally {
      await embedded.close();
    }
  }, 120_000);
});

describe('codestack-docs --store', () => {
  const collect = (): Writable & { text: () => string } => {
    const chunks: string[] = [];
    return Object.assign(new Writable({ write: (chunk, _encoding, done) => { chunks.push(String(chunk)); done(); } }), { text: () => chunks.join('') });
  };

  it('indexes into a server store and searches it, two packages side by side', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'codestack-docs-store-'));
    try {
      await writeFile(join(directory, 'guide.md'), '# Guide\n\n## Rotating logs\n\nRotate the log files every night with logrotate.\n');
      await writeFile(join(directory, 'other.md'), '# Other\n\n## Brewing tea\n\nSteep green tea for two minutes.\n');
      const storeDatabase = await PGlite.create({ extensions: { vector } });
      const storeServer = new PGLiteSocketServer({ db: storeDatabase, host: '127.0.0.1', port: 0, maxConnections: 4 });
      await storeServer.start();
      const url = `postgres://postgres:secret@${storeServer.getServerConn()}/postgres`;
      try {
        for (const file of ['guide.md', 'other.md']) {
          const stdout = collect();
          expect(await runDocsCommand(['index', file, '--store', url, '--json'], { stdout, stderr: collect(), cwd: directory })).toBe(0);
          expect(stdout.text()).not.toContain('secret');
        }
        const stdout = collect();
        expect(await runDocsCommand(['search', 'rotate logs', '--store', url, '--json', '-k', '3'], { stdout, stderr: collect(), cwd: directory })).toBe(0);
        const rows = JSON.parse(stdout.text()) as { name: string; package: string }[];
        expect(rows[0]?.package).toBe('guide.md');
        const filtered = collect();
        expect(await runDocsCommand(['search', 'rotate logs', '--store', url, '--json', '--package', 'other.md'], { stdout: filtered, stderr: collect(), cwd: directory })).toBe(0);
        expect((JSON.parse(filtered.text()) as { package: string }[]).every((row) => row.package === 'other.md')).toBe(true);
        const usage = collect();
        expect(await runDocsCommand(['search', 'x', '--store', url, '--index', directory], { stdout: collect(), stderr: usage, cwd: directory })).toBe(2);
      } finally {
        await storeServer.stop();
        await storeDatabase.close();
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }, 120_000);
});
