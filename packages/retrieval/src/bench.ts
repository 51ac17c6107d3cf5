/**
 * Benchmark: indexes all of `@types/node`, then measures build throughput, query latency, HNSW
 * recall against exact search over the same embeddings at several `ef`, and retrieval quality on
 * `data/node-queries.json`. Prints one JSON object, then a one-line summary.
 *
 * `--postgres` also stores the same pieces and vectors in PostgreSQL with pgvector (embedded PGlite
 * always; a real server too when one with pgvector is installed, started in a temporary directory
 * and stopped at the end) and measures each store's build time, HNSW recall@10 against exact search
 * and retrieval quality beside the file index. Query latency is then measured side by side: each
 * query runs on every engine in turn, in a rotating order, so a change of machine load falls on all
 * of them alike. The load average is printed at the start and the end.
 */
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { findPostgresInstallation, startThrowawayPostgres } from './__fixtures__/postgres-server.js';
import { Bm25Index } from './bm25-index.js';
import { entryBm25Fields, entryEmbeddingText, entryPrior } from './doc-entry.js';
import type { DocsStorePiece } from './docs-store.js';
import { PostgresDocsStore } from './postgres-docs-store.js';
import { DocsIndex } from './docs-index.js';
import { evaluateRetrieval, type RetrievalQuery } from './evaluate-retrieval.js';
import { HnswVectorIndex, defaultSearchEf } from './hnsw-vector-index.js';
import { loadTypeScriptDocs } from './typescript-loader.js';

const packageDirectory = new URL('..', import.meta.url).pathname;
const queries = (JSON.parse(await readFile(new URL('../data/node-queries.json', import.meta.url), 'utf8')) as { queries: RetrievalQuery[] }).queries;

const loadAtStart = loadavg().map(round2);
let started = performance.now();
const entries = await loadTypeScriptDocs('@types/node', { from: packageDirectory });
const loadSeconds = (performance.now() - started) / 1000;
started = performance.now();
const index = await DocsIndex.build(entries);
const buildSeconds = (performance.now() - started) / 1000;

// HNSW against exact search over the same real embeddings: the index's pieces, queried by the
// query set and by 352 pieces' own texts (every 16th piece).
const pieces = index.entries();
const pieceVectors = await index.embedder.embed(pieces.map(entryEmbeddingText));
const queryTexts = [...queries.map((item) => item.query), ...pieces.filter((_, position) => position % 16 === 0).slice(0, 352).map(entryEmbeddingText)];
const queryVectors = await index.embedder.embed(queryTexts);
// The file index's own build from the same vectors (embedding excluded), to set beside the stores'.
const fromVectorsStart = performance.now();
const graph = new HnswVectorIndex(index.embedder.dimension, { initialCapacity: pieces.length });
pieces.forEach((piece, position) => graph.upsert(piece.id, pieceVectors[position] as Float32Array));
const lexical = new Bm25Index();
for (const piece of pieces) lexical.upsert(piece.id, entryBm25Fields(piece), entryPrior(piece));
const buildFromVectorsSeconds = (performance.now() - fromVectorsStart) / 1000;
const exact = queryVectors.map((query) =>
  new Set(
    pieceVectors
      .map((vector, position) => ({ id: pieces[position]?.id ?? '', similarity: dot(query, vector) }))
      .sort((left, right) => right.similarity - left.similarity)
      .slice(0, 10)
      .map((hit) => hit.id),
  ),
);
const hnswRecall: Record<string, { recallAt10: number; microsecondsPerQuery: number }> = {};
for (const ef of [10, 32, 64, 128, 256]) {
  let found = 0;
  const start = performance.now();
  queryVectors.forEach((query, position) => {
    for (const hit of graph.search(query, { topK: 10, ef })) if (exact[position]?.has(hit.id)) found++;
  });
  hnswRecall[ef] = {
    recallAt10: found / (queryVectors.length * 10),
    microsecondsPerQuery: ((performance.now() - start) * 1000) / queryVectors.length,
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

/** A docs store under measurement, built from the same pieces and vectors as the file index. */
interface StoreUnderTest {
  label: string;
  engine: string;
  store: PostgresDocsStore;
  index: DocsIndex;
  buildSeconds: number;
  close(): Promise<void>;
}

const stores = process.argv.includes('--postgres') ? await openStores() : [];

async function openStores(): Promise<StoreUnderTest[]> {
  const opened: StoreUnderTest[] = [];
  // What was started (PGlite, a throwaway server) is stopped before a failure goes on.
  await closingOnFailure(async () => {
    for (const store of opened) await store.close().catch(() => undefined);
  }, () => openEachStore(opened));
  return opened;
}

/** Opens PGlite and, where one is installed with pgvector, a throwaway PostgreSQL server, filling each; each pushed to `opened` once filled, and stopped here if it fails before. */
async function openEachStore(opened: StoreUnderTest[]): Promise<void> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { vector } = await import('@electric-sql/pglite-pgvector');
  const database = await PGlite.create({ extensions: { vector } });
  await closingOnFailure(() => database.close(), async () => {
    const embedded = await PostgresDocsStore.connect({ client: database });
    const pgliteVersion = (await database.query<{ version: string }>("SELECT extversion AS version FROM pg_extension WHERE extname = 'vector'")).rows[0]?.version ?? '?';
    opened.push(await fill('pglite', `PGlite (PostgreSQL 17 in WebAssembly, in-process) + pgvector ${pgliteVersion}`, embedded, async () => {
      await embedded.close();
      await database.close();
    }));
  });
  const installation = findPostgresInstallation();
  if (!installation.available || !installation.hasVector) {
    process.stderr.write(`no real PostgreSQL server measured: ${installation.available ? `${installation.version} has no pgvector` : installation.reason}\n`);
    return;
  }
  const server = await startThrowawayPostgres(installation);
  await closingOnFailure(() => server.stop(), async () => {
    const store = await PostgresDocsStore.connect({ connectionString: server.connectionString });
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: server.connectionString });
    await client.connect();
    const [row] = (await client.query<{ version: string }>("SELECT extversion AS version FROM pg_extension WHERE extname = 'vector'")).rows;
    await client.end();
    opened.push(await fill('server', `${installation.version} + pgvector ${row?.version ?? '?'}, over TCP on loopback through pg (pool of 4)`, store, async () => {
      await store.close();
      await server.stop();
    }));
  });
}

/** Runs `body`; if it throws, runs `close` (its own failure ignored) and throws on. */
async function closingOnFailure(close: () => Promise<unknown>, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

async function fill(label: string, engine: string, store: PostgresDocsStore, close: () => Promise<void>): Promise<StoreUnderTest> {
  const opened = await DocsIndex.open({ store, embedder: index.embedder });
  const byPackage = new Map<string, DocsStorePiece[]>();
  pieces.forEach((entry, position) => {
    const key = `${entry.package}\u0000${entry.packageVersion}`;
    if (!byPackage.has(key)) byPackage.set(key, []);
    byPackage.get(key)?.push({ entry, vector: pieceVectors[position] as Float32Array });
  });
  const buildStart = performance.now();
  for (const [key, list] of byPackage) {
    const [name, version] = key.split('\u0000') as [string, string];
    await store.replacePackage(name, version, list);
  }
  return { label, engine, store, index: opened, buildSeconds: (performance.now() - buildStart) / 1000, close };
}

// Query latency, side by side: every query on every engine in turn, the order rotating per query.
const engines: { label: string; index: DocsIndex }[] = [{ label: 'files', index }, ...stores.map((store) => ({ label: store.label, index: store.index }))];
const latencies = new Map<string, number[]>(engines.map((engine) => [engine.label, []]));
const postgres: Record<string, unknown> = {};
function latencyOf(label: string): { p50: number; p95: number; queries: number } {
  const sorted = [...(latencies.get(label) ?? [])].sort((left, right) => left - right);
  const at = (share: number): number => round4(sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? 0);
  return { p50: at(0.5), p95: at(0.95), queries: sorted.length };
}

// The stores (and the throwaway server) are closed however the measuring ends.
try {
  let turn = 0;
  for (let round = 0; round < 3; round++) {
    for (const { query } of queries) {
      for (let offset = 0; offset < engines.length; offset++) {
        const engine = engines[(turn + offset) % engines.length] as (typeof engines)[number];
        const start = performance.now();
        await engine.index.search(query, { topK: 10 });
        latencies.get(engine.label)?.push(performance.now() - start);
      }
      turn++;
    }
  }

  for (const store of stores) {
    const recallByEf: Record<string, { recallAt10: number; millisecondsPerQuery: number }> = {};
    for (const ef of [40, 100, 200]) {
      let found = 0;
      const start = performance.now();
      for (const [position, query] of queryVectors.entries()) {
        const hits = (await store.store.search({ vector: query, candidates: 10, ef })).vector;
        for (const hit of hits) if (exact[position]?.has(hit.entry.id)) found++;
      }
      recallByEf[ef] = { recallAt10: round4(found / (queryVectors.length * 10)), millisecondsPerQuery: round4((performance.now() - start) / queryVectors.length) };
    }
    const storeQuality = await evaluateRetrieval(store.index, queries);
    postgres[store.label] = {
      engine: `${store.engine}; HNSW m 16 ef_construction 64, cosine; BM25 in SQL`,
      buildSeconds: round4(store.buildSeconds),
      hybridQueryLatencyMilliseconds: latencyOf(store.label),
      hnswRecallAt10VersusExact: { queries: queryVectors.length, byEf: recallByEf },
      recallAt5: Object.fromEntries(Object.entries(storeQuality).map(([mode, metrics]) => [mode, round4(metrics.recallAtK[5] ?? 0)])),
    };
  }
} finally {
  for (const store of stores) await store.close().catch(() => undefined);
}

const quality = await evaluateRetrieval(index, queries);
const result = {
  package: '@types/node',
  entries: entries.length,
  pieces: index.size,
  embedder: index.embedder.id,
  loadSeconds: round4(loadSeconds),
  buildSeconds: round4(buildSeconds),
  buildFromVectorsSeconds: round4(buildFromVectorsSeconds),
  docsPerSecond: Math.round(index.size / buildSeconds),
  queryLatencyMilliseconds: latencyOf('files'),
  hnswRecallAt10VersusExact: { defaultEf: defaultSearchEf, queries: queryVectors.length, byEf: hnswRecall },
  retrieval: Object.fromEntries(
    Object.entries(quality).map(([mode, metrics]) => [
      mode,
      {
        recallAt1: round4(metrics.recallAtK[1] ?? 0),
        recallAt5: round4(metrics.recallAtK[5] ?? 0),
        recallAt10: round4(metrics.recallAtK[10] ?? 0),
        mrr: round4(metrics.mrr),
        ndcgAt10: round4(metrics.ndcg),
      },
    ]),
  ),
  queries: queries.length,
  ...(stores.length === 0 ? {} : { postgres }),
  loadAverage: { start: loadAtStart, end: loadavg().map(round2) },
};
console.log(JSON.stringify(result, null, 2));
console.log(
  `@types/node: ${result.pieces} pieces built in ${result.buildSeconds}s (${result.docsPerSecond} docs/s); query p50 ${result.queryLatencyMilliseconds.p50} ms p95 ${result.queryLatencyMilliseconds.p95} ms; ` +
    `HNSW recall@10 at ef ${defaultSearchEf}: ${round4(hnswRecall[defaultSearchEf]?.recallAt10 ?? 0)}; ` +
    `recall@5 lexical ${result.retrieval.lexical?.recallAt5} vector ${result.retrieval.vector?.recallAt5} hybrid ${result.retrieval.hybrid?.recallAt5}; load ${loadAtStart[0]} → ${result.loadAverage.end[0]}`,
);
for (const [label, figures] of Object.entries(postgres) as [string, { buildSeconds: number; hybridQueryLatencyMilliseconds: { p50: number; p95: number }; recallAt5: Record<string, number> }][]) {
  console.log(
    `${label}: built in ${figures.buildSeconds}s; hybrid query p50 ${figures.hybridQueryLatencyMilliseconds.p50} ms p95 ${figures.hybridQueryLatencyMilliseconds.p95} ms; ` +
      `recall@5 lexical ${figures.recallAt5.lexical} vector ${figures.recallAt5.vector} hybrid ${figures.recallAt5.hybrid}`,
  );
}

function dot(left: Float32Array, right: Float32Array): number {
  let sum = 0;
  for (let position = 0; position < left.length; position++) sum += (left[position] ?? 0) * (right[position] ?? 0);
  return sum;
}
