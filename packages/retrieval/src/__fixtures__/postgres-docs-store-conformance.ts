import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { AbortedError, InvalidArgumentError } from '@codestack/core';
import { Bm25Index } from '../bm25-index.js';
import { entryBm25Fields, entryEmbeddingText, entryNames, entryPrior, type DocEntry } from '../doc-entry.js';
import { DocsIndex, type SearchFilter } from '../docs-index.js';
import { DocsStoreError } from '../docs-store-error.js';
import { EmbedderMismatchError } from '../embedder-mismatch-error.js';
import { identifierTokens } from '../identifier-tokens.js';
import { LocalEmbedder } from '../local-embedder.js';
import { PostgresDocsStore } from '../postgres-docs-store.js';
import { createFormat1Store, withClient } from './postgres-test-databases.js';
import { sampleEntries } from './sample-entries.js';

/** One empty database of a target, reached over the wire protocol. */
export interface PostgresTestDatabase {
  /** Its connection string. */
  connectionString: string;
  /** Drops it (and whatever served it). */
  close(): Promise<void>;
}

/** A PostgreSQL the store conformance tests run against. */
export interface PostgresTestTarget {
  /** Makes a new empty database with the pgvector extension available. */
  createDatabase(): Promise<PostgresTestDatabase>;
  /** Whether the target stops a running statement on a cancel request (a real server does; PGlite cannot). */
  cancelsRunningStatements: boolean;
}

const names = (results: { entry: DocEntry }[]): string[] => results.map((result) => result.entry.name);
const withVersion = (entries: DocEntry[], version: string): DocEntry[] => entries.map((entry) => ({ ...entry, packageVersion: version }));
const sleep = (milliseconds: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** The in-memory BM25 ranking of `entries`, scored as `DocsIndex` scores its pieces. */
function memoryBm25(entries: readonly DocEntry[]): Bm25Index {
  const bm25 = new Bm25Index();
  for (const entry of entries) {
    bm25.upsert(`${entry.package}@${entry.packageVersion}#${entry.id}`, entryBm25Fields(entry), entryPrior(entry));
  }
  return bm25;
}

/** Asserts the store's lexical ranking equals the in-memory BM25 over `entries`, ids and scores. */
async function expectSameBm25(store: PostgresDocsStore, entries: readonly DocEntry[], queries: readonly string[], filter?: SearchFilter): Promise<void> {
  const bm25 = memoryBm25(entries);
  const kept = (key: string): boolean => {
    const entry = entries.find((candidate) => `${candidate.package}@${candidate.packageVersion}#${candidate.id}` === key) as DocEntry;
    return (filter?.package === undefined || entry.package === filter.package) && (filter?.kind === undefined || entry.kind === filter.kind);
  };
  for (const query of queries) {
    const expected = bm25.search(query, 50, filter === undefined ? undefined : kept);
    const { lexical } = await store.search({ lexicalTokens: identifierTokens(query), candidates: 50, ef: 40, ...(filter === undefined ? {} : { filter }) });
    expect(lexical.map((hit) => hit.key), query).toEqual(expected.map((hit) => hit.id));
    lexical.forEach((hit, position) => expect(hit.score).toBeCloseTo(expected[position]?.score ?? Number.NaN, 9));
  }
}

/** The maintained BM25 statistics, and the same recomputed from the postings. */
async function statistics(connectionString: string): Promise<{ maintained: unknown; recomputed: unknown }> {
  return withClient(connectionString, async (client) => {
    const maintained = await client.query(
      `SELECT (SELECT document_count::integer FROM codestack_docs_store) AS documents, (SELECT total_length::integer FROM codestack_docs_store) AS length,
        (SELECT coalesce(json_object_agg(term, document_frequency ORDER BY term), '{}') FROM codestack_docs_term_statistics) AS frequencies`,
    );
    const recomputed = await client.query(
      `SELECT (SELECT count(*)::integer FROM codestack_docs_pieces) AS documents, (SELECT coalesce(sum(lexical_length), 0)::integer FROM codestack_docs_pieces) AS length,
        (SELECT coalesce(json_object_agg(term, count ORDER BY term), '{}') FROM (SELECT term, count(*) AS count FROM codestack_docs_terms GROUP BY term) counted) AS frequencies`,
    );
    return { maintained: maintained.rows[0], recomputed: recomputed.rows[0] };
  });
}

/**
 * The behaviour every PostgreSQL a `PostgresDocsStore` runs on must show, through the `pg` client
 * over the wire protocol: PGlite behind `@electric-sql/pglite-socket`, and a real server. `skip`
 * (the reason) skips them all.
 */
export function describePostgresDocsStoreConformance(label: string, target: () => PostgresTestTarget, skip?: string): void {
  let embedderPromise: Promise<LocalEmbedder> | undefined;
  const embedder = (): Promise<LocalEmbedder> =>
    (embedderPromise ??= LocalEmbedder.fit(
      sampleEntries().map((entry) => `${entry.name} ${entry.summary}`),
      { dimension: 64 },
    ));
  const withStore = async (work: (store: PostgresDocsStore, database: PostgresTestDatabase) => Promise<void>): Promise<void> => {
    const database = await target().createDatabase();
    try {
      const store = await PostgresDocsStore.connect({ connectionString: database.connectionString });
      try {
        await work(store, database);
      } finally {
        await store.close();
      }
    } finally {
      await database.close();
    }
  };

  describe.skipIf(skip !== undefined)(`PostgresDocsStore conformance: ${label}`, () => {
    it('records the embedder, indexes two packages, and pushes filters into SQL', async () => {
      await withStore(async (store, database) => {
        await expect(DocsIndex.open({ store })).rejects.toThrow(InvalidArgumentError);
        const index = await DocsIndex.open({ store, embedder: await embedder() });
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
        expect(names(await index.search('read file', { mode: 'lexical', topK: 10, filter: { deprecated: true } }))).toEqual(['files.readLegacy']);
        expect((await index.search('read file', { topK: 3, mmr: true })).length).toBe(3);

        // The vectors sit under an HNSW index with cosine distance; the postings are keyed by term.
        const indexes = await withClient(database.connectionString, async (client) =>
          (await client.query<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE tablename LIKE 'codestack_docs_%'")).rows.map((row) => row.indexdef),
        );
        expect(indexes.some((definition) => /USING hnsw \(embedding vector_cosine_ops\)/.test(definition))).toBe(true);
        expect(indexes.some((definition) => /codestack_docs_terms USING btree \(term, piece\)/.test(definition))).toBe(true);

        // Another embedder is refused; the recorded local embedder is restored without one.
        const other = await LocalEmbedder.fit(['something else entirely'], { dimension: 64 });
        await expect(DocsIndex.open({ store, embedder: other })).rejects.toThrow(EmbedderMismatchError);
        const reopened = await DocsIndex.open({ store });
        expect(reopened.embedder.id).toBe((await embedder()).id);
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
      });
    }, 180_000);

    it('ranks the lexical side exactly as the in-memory BM25, with statistics kept through replace and delete', async () => {
      await withStore(async (store, database) => {
        const index = await DocsIndex.open({ store, embedder: await embedder() });
        const queries = ['read a whole file as text', 'readTextSync', 'server options port', 'sha256 digest of bytes', 'write text file', 'old way'];
        let live = sampleEntries();
        await index.upsert(live);
        await expectSameBm25(store, live, queries);
        // A second version, a replace with other text, and deletes change N, the lengths and the frequencies.
        const second = withVersion(live.filter((entry) => entry.package === 'other'), '2.0.0');
        await index.upsert(second);
        live = [...live, ...second];
        await expectSameBm25(store, live, queries);
        // A filter restricts the hits, not the statistics, as in memory.
        await expectSameBm25(store, live, queries, { package: 'other' });
        await expectSameBm25(store, live, queries, { kind: 'function' });
        const rewritten = live
          .filter((entry) => entry.package === 'demo')
          .map((entry, position) => (position % 2 === 0 ? { ...entry, documentation: `${entry.documentation} Reads and writes text files quickly.` } : entry))
          .slice(1);
        await index.upsert(rewritten);
        // Over a store, upsert replaces the whole package version: the first demo entry is gone.
        live = [...live.filter((entry) => entry.package !== 'demo'), ...rewritten];
        await expectSameBm25(store, live, queries);
        await index.deletePackage('other', '1.0.0');
        live = live.filter((entry) => !(entry.package === 'other' && entry.packageVersion === '1.0.0'));
        await expectSameBm25(store, live, queries);
        let counts = await statistics(database.connectionString);
        expect(counts.maintained).toEqual(counts.recomputed);
        expect((counts.maintained as { documents: number }).documents).toBe(live.length);
        await index.deletePackage('demo');
        await index.deletePackage('other');
        counts = await statistics(database.connectionString);
        expect(counts.maintained).toEqual({ documents: 0, length: 0, frequencies: {} });
        expect((await store.search({ lexicalTokens: ['read'], candidates: 5, ef: 40 })).lexical).toEqual([]);
      });
    }, 180_000);

    it('gives a concurrent reader the old or the new package, never a mix', async () => {
      await withStore(async (store, database) => {
        const writer = await DocsIndex.open({ store, embedder: await embedder() });
        const readerStore = await PostgresDocsStore.connect({ connectionString: database.connectionString });
        try {
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
          // A search that starts after the commit sees the new package (one still running then may see the old).
          const after = await reader.search('bulk entry generation', { topK: 50, mode: 'lexical', filter: { package: 'bulk' } });
          expect([...new Set(after.map((result) => result.entry.documentation))]).toEqual(['generation new']);
          expect(await store.packages()).toContainEqual({ package: 'bulk', version: '1.0.0', pieces: 450 });
          const counts = await statistics(database.connectionString);
          expect(counts.maintained).toEqual(counts.recomputed);
        } finally {
          await readerStore.close();
        }
      });
    }, 180_000);

    it('stops a search blocked behind a lock when its signal fires', async () => {
      await withStore(async (store, database) => {
        const index = await DocsIndex.open({ store, embedder: await embedder() });
        await index.upsert(sampleEntries());
        expect(store.cancelsRunningStatements).toBe(true);
        const holder = new pg.Client({ connectionString: database.connectionString });
        await holder.connect();
        try {
          await holder.query('BEGIN');
          await holder.query('LOCK TABLE codestack_docs_pieces IN ACCESS EXCLUSIVE MODE');
          const controller = new AbortController();
          const outcome = index.search('read a whole file', { signal: controller.signal }).then(
            () => 'resolved',
            (error: unknown) => (AbortedError.isInstance(error) ? 'aborted' : `failed: ${String(error)}`),
          );
          let settled = false;
          void outcome.then(() => (settled = true));
          await sleep(800);
          expect(settled).toBe(false);
          controller.abort();
          if (target().cancelsRunningStatements) {
            // The server stops the waiting statement at once, while the lock is still held.
            const started = performance.now();
            expect(await outcome).toBe('aborted');
            expect(performance.now() - started).toBeLessThan(10_000);
            const waiting = await holder.query("SELECT count(*)::integer AS count FROM pg_stat_activity WHERE wait_event_type = 'Lock'");
            expect(waiting.rows[0]).toEqual({ count: 0 });
            await holder.query('COMMIT');
          } else {
            // PGlite cannot stop a statement: the search gives up at its next statement, once the lock is gone.
            await sleep(500);
            expect(settled).toBe(false);
            await holder.query('COMMIT');
            expect(await outcome).toBe('aborted');
          }
        } finally {
          await holder.end();
        }
        // The store's connections are still usable.
        expect(names(await index.search('read a whole file as text', { topK: 1 }))).toEqual(['files.readText']);
      });
    }, 180_000);

    it('upgrades a store of format 1 in place, keeping its vectors, and refuses a newer format', async () => {
      const database = await target().createDatabase();
      try {
        const local = await embedder();
        const entries = sampleEntries();
        const vectors = await local.embed(entries.map(entryEmbeddingText));
        // The schema and rows format 1 wrote: a tsvector ranked by ts_rank.
        await withClient(database.connectionString, async (client) => {
          await createFormat1Store(client, { embedderId: local.id, embedderState: local.toState(), dimension: 64 });
          for (const [position, entry] of entries.entries()) {
            await client.query(
              `INSERT INTO codestack_docs_pieces VALUES ($1, $2, $3, $4, $5, $6, $7, to_tsvector('simple', $8), $9::vector)`,
              [entry.package, entry.packageVersion, entry.id, entry.kind, entry.deprecated !== undefined, JSON.stringify(entry), entryPrior(entry), identifierTokens(entryNames(entry)).join(' '), `[${Array.from(vectors[position] as Float32Array).join(',')}]`],
            );
          }
        });
        // Two connectors at once: one upgrades, the other waits for it and finds format 2.
        const [store, second] = await Promise.all([
          PostgresDocsStore.connect({ connectionString: database.connectionString }),
          PostgresDocsStore.connect({ connectionString: database.connectionString }),
        ]);
        try {
          await second.close();
          await expectSameBm25(store, entries, ['read a whole file as text', 'sha256 digest', 'server options']);
          const index = await DocsIndex.open({ store });
          expect(names(await index.search('read a whole file as text', { topK: 1 }))).toEqual(['files.readText']);
          const vectorHits = await index.search('read a whole file as text', { topK: 7, mode: 'vector' });
          expect(vectorHits[0]?.breakdown.vector?.similarity).toBeGreaterThan(0);
          const counts = await statistics(database.connectionString);
          expect(counts.maintained).toEqual(counts.recomputed);
          const columns = await withClient(database.connectionString, async (client) =>
            (await client.query<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_name = 'codestack_docs_pieces'")).rows.map((row) => row.column_name),
          );
          expect(columns).not.toContain('lexical');
          // Writes go on as in a store made by this version.
          await index.deletePackage('other');
          await expectSameBm25(store, entries.filter((entry) => entry.package !== 'other'), ['server options', 'read file']);
        } finally {
          await store.close();
        }
        await withClient(database.connectionString, (client) => client.query('UPDATE codestack_docs_store SET format_version = 3'));
        const refused = await PostgresDocsStore.connect({ connectionString: database.connectionString }).catch((error: unknown) => error);
        expect(DocsStoreError.isInstance(refused) && refused.reason).toBe('unsupported-format');
      } finally {
        await database.close();
      }
    }, 180_000);
  });
}
