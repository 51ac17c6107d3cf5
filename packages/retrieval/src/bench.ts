/**
 * Benchmark: indexes all of `@types/node`, then measures build throughput, query latency, HNSW
 * recall against exact search over the same embeddings at several `ef`, and retrieval quality on
 * `data/node-queries.json`. Prints one JSON object, then a one-line summary.
 *
 * `--postgres` also stores the same pieces and vectors in PostgreSQL with pgvector (embedded PGlite,
 * the same SQL a server runs) and measures its build time, query latency and HNSW recall@10
 * against exact search beside hnswlib's.
 */
import { readFile } from 'node:fs/promises';
import { entryEmbeddingText, type DocEntry } from './doc-entry.js';
import type { DocsStorePiece } from './docs-store.js';
import { PostgresDocsStore } from './postgres-docs-store.js';
import { DocsIndex } from './docs-index.js';
import { evaluateRetrieval, type RetrievalQuery } from './evaluate-retrieval.js';
import { HnswVectorIndex, defaultSearchEf } from './hnsw-vector-index.js';
import { loadTypeScriptDocs } from './typescript-loader.js';

const packageDirectory = new URL('..', import.meta.url).pathname;
const queries = (JSON.parse(await readFile(new URL('../data/node-queries.json', import.meta.url), 'utf8')) as { queries: RetrievalQuery[] }).queries;

let started = performance.now();
const entries = await loadTypeScriptDocs('@types/node', { from: packageDirectory });
const loadSeconds = (performance.now() - started) / 1000;
started = performance.now();
const index = await DocsIndex.build(entries);
const buildSeconds = (performance.now() - started) / 1000;

const latencies: number[] = [];
for (let round = 0; round < 3; round++) {
  for (const { query } of queries) {
    const start = performance.now();
    await index.search(query, { topK: 10 });
    latencies.push(performance.now() - start);
  }
}
latencies.sort((left, right) => left - right);
const percentile = (share: number): number => latencies[Math.min(latencies.length - 1, Math.floor(share * latencies.length))] ?? 0;

// HNSW against exact search over the same real embeddings: the index's pieces, queried by the
// query set and by 352 pieces' own texts (every 16th piece).
const pieces = index.entries();
const pieceVectors = await index.embedder.embed(pieces.map(entryEmbeddingText));
const queryTexts = [...queries.map((item) => item.query), ...pieces.filter((_, position) => position % 16 === 0).slice(0, 352).map(entryEmbeddingText)];
const queryVectors = await index.embedder.embed(queryTexts);
const graph = new HnswVectorIndex(index.embedder.dimension, { initialCapacity: pieces.length });
pieces.forEach((piece, position) => graph.upsert(piece.id, pieceVectors[position] as Float32Array));
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

function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

const postgres = process.argv.includes('--postgres') ? await benchPostgres() : undefined;

async function benchPostgres(): Promise<Record<string, unknown>> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { vector } = await import('@electric-sql/pglite-pgvector');
  const database = await PGlite.create({ extensions: { vector } });
  const store = await PostgresDocsStore.connect({ client: database });
  try {
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
    const buildSeconds = (performance.now() - buildStart) / 1000;
    const recallByEf: Record<string, { recallAt10: number; millisecondsPerQuery: number }> = {};
    const keyOf = (entry: DocEntry): string => entry.id;
    for (const ef of [40, 100, 200]) {
      let found = 0;
      const start = performance.now();
      for (const [position, query] of queryVectors.entries()) {
        const hits = (await store.search({ vector: query, candidates: 10, ef })).vector;
        for (const hit of hits) if (exact[position]?.has(keyOf(hit.entry))) found++;
      }
      recallByEf[ef] = { recallAt10: round4(found / (queryVectors.length * 10)), millisecondsPerQuery: round4((performance.now() - start) / queryVectors.length) };
    }
    const hybridLatencies: number[] = [];
    for (const { query } of queries) {
      const start = performance.now();
      await opened.search(query, { topK: 10 });
      hybridLatencies.push(performance.now() - start);
    }
    hybridLatencies.sort((left, right) => left - right);
    const at = (share: number): number => round4(hybridLatencies[Math.min(hybridLatencies.length - 1, Math.floor(share * hybridLatencies.length))] ?? 0);
    const postgresQuality = await evaluateRetrieval(opened, queries);
    return {
      engine: 'PGlite (PostgreSQL in WebAssembly) + pgvector 0.8.7, HNSW m 16 ef_construction 64, cosine',
      buildSeconds: round4(buildSeconds),
      hybridQueryLatencyMilliseconds: { p50: at(0.5), p95: at(0.95), queries: hybridLatencies.length },
      hnswRecallAt10VersusExact: { queries: queryVectors.length, byEf: recallByEf },
      recallAt5: Object.fromEntries(Object.entries(postgresQuality).map(([mode, metrics]) => [mode, round4(metrics.recallAtK[5] ?? 0)])),
    };
  } finally {
    await store.close();
    await database.close();
  }
}

const quality = await evaluateRetrieval(index, queries);
const result = {
  package: '@types/node',
  entries: entries.length,
  pieces: index.size,
  embedder: index.embedder.id,
  loadSeconds: round4(loadSeconds),
  buildSeconds: round4(buildSeconds),
  docsPerSecond: Math.round(index.size / buildSeconds),
  queryLatencyMilliseconds: { p50: round4(percentile(0.5)), p95: round4(percentile(0.95)), queries: latencies.length },
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
  ...(postgres === undefined ? {} : { postgres }),
};
console.log(JSON.stringify(result, null, 2));
console.log(
  `@types/node: ${result.pieces} pieces built in ${result.buildSeconds}s (${result.docsPerSecond} docs/s); query p50 ${result.queryLatencyMilliseconds.p50} ms p95 ${result.queryLatencyMilliseconds.p95} ms; ` +
    `HNSW recall@10 at ef ${defaultSearchEf}: ${round4(hnswRecall[defaultSearchEf]?.recallAt10 ?? 0)}; ` +
    `recall@5 lexical ${result.retrieval.lexical?.recallAt5} vector ${result.retrieval.vector?.recallAt5} hybrid ${result.retrieval.hybrid?.recallAt5}`,
);

function dot(left: Float32Array, right: Float32Array): number {
  let sum = 0;
  for (let position = 0; position < left.length; position++) sum += (left[position] ?? 0) * (right[position] ?? 0);
  return sum;
}
