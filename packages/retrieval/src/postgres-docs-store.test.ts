import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortedError, InvalidArgumentError } from '@codestack/core';
import type { DocEntry } from './doc-entry.js';
import { DocsIndex } from './docs-index.js';
import { DocsStoreError } from './docs-store-error.js';
import { EmbedderMismatchError } from './embedder-mismatch-error.js';
import { sampleEntries } from './__fixtures__/sample-entries.js';
import { LocalEmbedder } from './local-embedder.js';
import { PostgresDocsStore } from './postgres-docs-store.js';
import { runDocsCommand } from './docs-command.js';
import { Writable } from 'node:stream';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const names = (results: { entry: DocEntry }[]): string[] => results.map((result) => result.entry.name);
const withVersion = (entries: DocEntry[], version: string): DocEntry[] => entries.map((entry) => ({ ...entry, packageVersion: version }));

let database: PGlite;
let server: PGLiteSocketServer;
let connectionString: string;
let embedder: LocalEmbedder;

beforeAll(async () => {
  database = await PGlite.create({ extensions: { vector } });
  server = new PGLiteSocketServer({ db: database, host: '127.0.0.1', port: 0, maxConnections: 16 });
  await server.start();
  connectionString = `postgres://postgres@${server.getServerConn()}/postgres`;
  embedder = await LocalEmbedder.fit(
    sampleEntries().map((entry) => `${entry.name} ${entry.summary}`),
    { dimension: 64 },
  );
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await database?.close();
});

describe('PostgresDocsStore over the wire protocol (pg client, PGlite socket server)', () => {
  it('records the embedder, indexes two packages, and pushes filters into SQL', async () => {
    const store = await PostgresDocsStore.connect({ connectionString });
    try {
      await expect(DocsIndex.open({ store })).rejects.toThrow(InvalidArgumentError);
      const index = await DocsIndex.open({ store, embedder });
      await index.upsert(sampleEntries());
      expect(await store.packages()).toEqual([
        { package: 'demo', version: '1.0.0', pieces: sampleEntries().filter((entry) => entry.package === 'demo').length },
        { package: 'other', version: '1.0.0', pieces: 2 },
      ]);
      const hybrid = await index.search('read a whole file as text', { topK: 3 });
      expect(names(hybrid)[0]).toBe('files.readText');
      expect(hybrid[0]?.breakdown.lexical?.rank).toBe(1);
      expect(hybrid[0]?.breakdown.vector?.similarity).toBeGreaterThan(0);
      expect(names(await index.search('sha256 digest', { mode: 'lexical', topK: 1 }))).toEqual(['hash.sha256']);
      const onlyOther = await index.search('server', { topK: 10, filter: { package: 'other' } });
      expect(onlyOther.length).toBe(2);
      expect(onlyOther.every((result) => result.entry.package === 'other')).toBe(true);
      const interfaces = await index.search('server options', { topK: 10, filter: { kind: 'interface' }, mode: 'vector' });
      expect(interfaces.length).toBeGreaterThan(0);
      expect(interfaces.every((result) => result.entry.kind === 'interface')).toBe(true);
      expect(await index.search('server', { filter: { version: '9.9.9' } })).toEqual([]);
      const diversified = await index.search('read file', { topK: 3, mmr: true });
      expect(diversified.length).toBe(3);

      // The vectors sit under an HNSW index with cosine distance.
      const indexes = await database.query<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE tablename = 'codestack_docs_pieces'");
      expect(indexes.rows.some((row) => /USING hnsw \(embedding vector_cosine_ops\)/.test(row.indexdef))).toBe(true);

      // Another embedder is refused; the recorded local embedder is restored without one.
      const other = await LocalEmbedder.fit(['something else entirely'], { dimension: 64 });
      await expect(DocsIndex.open({ store, embedder: other })).rejects.toThrow(EmbedderMismatchError);
      const reopened = await DocsIndex.open({ store });
      expect(reopened.embedder.id).toBe(embedder.id);
      expect(names(await reopened.search('read a whole file as text', { topK: 1 }))).toEqual(['files.readText']);

      // A second version sits beside the first; deleting one version leaves the other.
      await index.upsert(withVersion(sampleEntries().filter((entry) => entry.package === 'other'), '2.0.0'));
      expect((await index.search('server', { topK: 10, filter: { package: 'other' } })).length).toBe(4);
      expect(await index.deletePackage('other', '1.0.0')).toBe(2);
      const remaining = await index.search('server', { topK: 10, filter: { package: 'other' } });
      expect(remaining.map((result) => result.entry.packageVersion)).toEqual(['2.0.0', '2.0.0']);
      expect(() => index.delete('demo:files.readText')).toThrow(InvalidArgumentError);
      await expect(index.save('/tmp/never')).rejects.toThrow(InvalidArgumentError);

      const aborted = new AbortController();
      aborted.abort();
      await expect(index.search('server', { signal: aborted.signal })).rejects.toThrow(AbortedError);
    } finally {
      await store.close();
    }
  }, 120_000);

  it('gives a concurrent reader the old or the new package, never a mix', async () => {
    const writerStore = await PostgresDocsStore.connect({ connectionString });
    const readerStore = await PostgresDocsStore.connect({ connectionString });
    try {
      const writer = await DocsIndex.open({ store: writerStore });
      const reader = await DocsIndex.open({ store: readerStore });
      // Many pieces, so the replace runs several INSERT batches inside its transaction.
      const generation = (label: string): DocEntry[] =>
        Array.from({ length: 450 }, (_, position) => ({
          ...(sampleEntries()[0] as DocEntry),
          id: `bulk:entry${position}`,
          name: `bulk.entry${position}`,
          summary: `Bulk entry ${position} of generation ${label}.`,
          documentation: `generation ${label}`,
          package: 'bulk',
          packageVersion: '1.0.0',
        }));
      await writer.upsert(generation('old'));
      const seen: string[] = [];
      let writing = true;
      const reading = (async () => {
        while (writing) {
          const results = await reader.search('bulk entry generation', { topK: 50, mode: 'lexical', filter: { package: 'bulk' } });
          seen.push([...new Set(results.map((result) => result.entry.documentation))].sort().join('+'));
        }
      })();
      await writer.upsert(generation('new'));
      writing = false;
      await reading;
      expect(seen).toContain('generation old');
      for (const snapshot of seen) expect(['generation old', 'generation new']).toContain(snapshot);
      expect(seen.at(-1)).toBe('generation new');
      expect(await writerStore.packages()).toContainEqual({ package: 'bulk', version: '1.0.0', pieces: 450 });
    } finally {
      await writerStore.close();
      await readerStore.close();
    }
  }, 120_000);

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
