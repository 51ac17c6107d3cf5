import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Embedder, RetrieveOptions, RetrievedDocument, Retriever, Tokenizer } from '@codestack/core';
import {
  FileFormatError,
  InvalidArgumentError,
  createProgressReporter,
  sha256Hex,
  throwIfAborted,
  writeFileAtomic,
} from '@codestack/core';
import { getTokenizer } from '@codestack/tokenizer';
import { Bm25Index } from './bm25-index.js';
import { chunkEntries } from './chunk-entries.js';
import { entryDocumentation, entryEmbeddingText, entryNames, entryPrior, entryPromptText, type DocEntry, type DocEntryKind } from './doc-entry.js';
import { EmbedderMismatchError } from './embedder-mismatch-error.js';
import { HnswVectorIndex, defaultSearchEf, type HnswLabels, type HnswVectorIndexOptions } from './hnsw-vector-index.js';
import {
  indexFormat,
  indexFormatVersion,
  manifestFileName,
  readCheckedFile,
  readManifest,
  type IndexManifest,
  type ManifestFile,
} from './index-manifest.js';
import { LocalEmbedder } from './local-embedder.js';
import { maximalMarginalRelevance } from './maximal-marginal-relevance.js';
import { reciprocalRankFusion } from './reciprocal-rank-fusion.js';

/** Metadata a search is restricted to; applied inside BM25 scoring and inside the HNSW search. */
export interface SearchFilter {
  /** Only these packages, such as `@types/node`. */
  package?: string | readonly string[];
  /** Only these kinds. */
  kind?: DocEntryKind | readonly DocEntryKind[];
  /** `false` hides deprecated APIs; `true` shows only them. */
  deprecated?: boolean;
}

/** Which ranking a search uses. */
export type SearchMode = 'hybrid' | 'lexical' | 'vector';

/** Options of {@link DocsIndex.search}. */
export interface DocsSearchOptions {
  /** The number of results. Defaults to 10. */
  topK?: number;
  /** `hybrid` (the default) fuses BM25 and vector rankings by reciprocal rank. */
  mode?: SearchMode;
  /** Metadata restrictions. */
  filter?: SearchFilter;
  /** HNSW search `ef` for this query. Defaults to the index's `ef`. */
  ef?: number;
  /** Diversify the results by maximal marginal relevance; `lambda` defaults to 0.7. */
  mmr?: boolean | { lambda?: number };
  /** The embedder the caller means to query with; refused unless it is the index's embedder. */
  embedder?: Embedder;
  /** Cancels the search. */
  signal?: AbortSignal;
}

/** Where a result's score came from. */
export interface ScoreBreakdown {
  /** Its BM25 rank (1-based) and score, when BM25 found it. */
  lexical?: { rank: number; score: number };
  /** Its vector rank (1-based) and cosine similarity, when the vector search found it. */
  vector?: { rank: number; similarity: number };
  /** The reciprocal-rank-fusion score over the rankings the mode uses. */
  fused: number;
}

/** One search result. */
export interface DocsSearchResult {
  /** The matching entry (for a split entry: its best-matching piece). */
  entry: DocEntry;
  /** The score the results are ordered by: fused (hybrid), BM25 (lexical) or similarity (vector). */
  score: number;
  /** The score breakdown. */
  breakdown: ScoreBreakdown;
}

/** Options of {@link DocsIndex.create}. */
export interface CreateDocsIndexOptions {
  /** Default HNSW search `ef`. Defaults to {@link defaultSearchEf}. */
  ef?: number;
  /** hnswlib construction options. */
  hnsw?: HnswVectorIndexOptions;
  /** Token budget of one indexed piece; longer entries are split. Defaults to 512. */
  maximumTokens?: number;
  /** Counts tokens for that budget. Defaults to `getTokenizer('cl100k_base')`. */
  tokenizer?: Tokenizer;
}

/** Options of {@link DocsIndex.build}. */
export interface BuildDocsIndexOptions extends CreateDocsIndexOptions, UpsertOptions {
  /** The embedder; defaults to a {@link LocalEmbedder} fitted on the entries. */
  embedder?: Embedder;
  /** The dimension of the default local embedder. Defaults to 512. */
  dimension?: number;
}

/** Options of {@link DocsIndex.upsert}. */
export interface UpsertOptions {
  /** Cancels the work. */
  signal?: AbortSignal;
  /** Progress as JSON lines instead of a bar. */
  json?: boolean;
  /** No progress output. Defaults to `true` unless `progressStream` or `json` is given. */
  silent?: boolean;
  /** Where progress goes. Defaults to `process.stderr`. */
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Options of {@link DocsIndex.load}. */
export interface LoadDocsIndexOptions {
  /** The embedder to query with. Required for indexes built with a remote embedder; must match the manifest. */
  embedder?: Embedder;
  /** hnswlib options (the saved graph keeps its own structure). */
  hnsw?: HnswVectorIndexOptions;
  /** Cancels the load. */
  signal?: AbortSignal;
  /** See {@link CreateDocsIndexOptions.maximumTokens}. */
  maximumTokens?: number;
  /** See {@link CreateDocsIndexOptions.tokenizer}. */
  tokenizer?: Tokenizer;
}

const embedBatchSize = 256;
/**
 * Hybrid fusion: reciprocal-rank fusion with `k` 10 and the vector ranking weighted 0.5 against
 * BM25's 1. Chosen on the Node query set (`data/node-queries.json`) with the local embedder:
 * k 60 with equal weights gave recall@5 0.736, this gives 0.757.
 */
const fusionK = 10;
const vectorFusionWeight = 0.5;
const dataFilePattern = /^(graph|docstore|embedder)-[0-9a-f]{16}\.(bin|json)$/;

/**
 * A searchable index of API documentation: an hnswlib vector index and a BM25 index over the
 * same docstore, queried by hybrid (reciprocal-rank-fused) search, saved and loaded atomically.
 */
export class DocsIndex implements Retriever {
  /** The embedder the vectors came from. */
  readonly embedder: Embedder;
  private readonly vectors: HnswVectorIndex;
  private readonly lexical = new Bm25Index();
  private readonly pieces = new Map<string, DocEntry>();
  private readonly maximumTokens: number;
  private tokenizer: Tokenizer | undefined;

  private constructor(embedder: Embedder, vectors: HnswVectorIndex, options: CreateDocsIndexOptions) {
    this.embedder = embedder;
    this.vectors = vectors;
    this.maximumTokens = options.maximumTokens ?? 512;
    this.tokenizer = options.tokenizer;
  }

  /** An empty index over `embedder`. */
  static create(embedder: Embedder, options: CreateDocsIndexOptions = {}): DocsIndex {
    checkEmbedder(embedder);
    const hnsw = { ...options.hnsw, ...(options.ef === undefined ? {} : { ef: options.ef }) };
    return new DocsIndex(embedder, new HnswVectorIndex(embedder.dimension, hnsw), options);
  }

  /**
   * Builds an index of `entries`. Without an `embedder`, fits a {@link LocalEmbedder} on them.
   * Reports progress through core's progress reporter.
   */
  static async build(entries: readonly DocEntry[], options: BuildDocsIndexOptions = {}): Promise<DocsIndex> {
    let embedder = options.embedder;
    if (embedder === undefined) {
      const tokenizer = options.tokenizer ?? getTokenizer('cl100k_base');
      const pieces = chunkEntries(entries, { maximumTokens: options.maximumTokens ?? 512, tokenizer });
      embedder = await LocalEmbedder.fit(pieces.map(entryEmbeddingText), {
        ...(options.dimension === undefined ? {} : { dimension: options.dimension }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      options = { ...options, tokenizer };
    }
    const index = DocsIndex.create(embedder, {
      ...options,
      hnsw: { initialCapacity: Math.max(1024, Math.ceil(entries.length * 1.25)), ...options.hnsw },
    });
    await index.upsert(entries, options);
    return index;
  }

  /**
   * Loads an index saved by {@link DocsIndex.save}, verifying every file's checksum.
   * @throws FileFormatError when the directory is missing, corrupt or of another format.
   * @throws EmbedderMismatchError when `options.embedder` is not the embedder the index was built with.
   */
  static async load(directory: string, options: LoadDocsIndexOptions = {}): Promise<DocsIndex> {
    const manifest = await readManifest(directory);
    throwIfAborted(options.signal, 'DocsIndex.load');
    let embedder = options.embedder;
    if (embedder !== undefined) {
      checkSameEmbedder(embedder, manifest.embedder);
    } else if (manifest.files.embedderState !== undefined) {
      const bytes = await readCheckedFile(directory, manifest.files.embedderState);
      const local = LocalEmbedder.fromState(parseJson(bytes, join(directory, manifest.files.embedderState.name)));
      if (local.id !== manifest.embedder.id || local.dimension !== manifest.embedder.dimension) {
        throw new FileFormatError({
          path: join(directory, manifest.files.embedderState.name),
          reason: 'mismatch',
          message: `the embedder state is ${local.id}, the manifest names ${manifest.embedder.id}`,
        });
      }
      embedder = local;
    } else {
      throw new InvalidArgumentError({
        argument: 'embedder',
        message: `the index at ${directory} was built with ${manifest.embedder.id}; pass that embedder to load it`,
      });
    }
    const docstorePath = join(directory, manifest.files.docstore.name);
    const docstore = parseJson(await readCheckedFile(directory, manifest.files.docstore), docstorePath) as {
      entries?: DocEntry[];
      labels?: HnswLabels;
    };
    if (!Array.isArray(docstore.entries) || !Array.isArray(docstore.labels?.labels)) {
      throw new FileFormatError({ path: docstorePath, reason: 'corrupt', message: 'the docstore lacks entries or labels' });
    }
    await readCheckedFile(directory, manifest.files.graph);
    throwIfAborted(options.signal, 'DocsIndex.load');
    const vectors = await HnswVectorIndex.fromFile(join(directory, manifest.files.graph.name), manifest.embedder.dimension, docstore.labels, {
      ...options.hnsw,
      ef: manifest.ef,
    });
    if (vectors.size !== manifest.count || docstore.entries.length !== manifest.count) {
      throw new FileFormatError({ path: directory, reason: 'corrupt', message: `the manifest says ${manifest.count} pieces, the files hold ${vectors.size}` });
    }
    const index = new DocsIndex(embedder, vectors, options);
    for (const piece of docstore.entries) index.addPieceText(piece);
    return index;
  }

  /** The number of indexed pieces (an entry split by the token budget counts once per piece). */
  get size(): number {
    return this.pieces.size;
  }

  /** The default HNSW search `ef`. */
  get ef(): number {
    return this.vectors.ef;
  }

  /** The piece with id `id`. */
  get(id: string): DocEntry | undefined {
    return this.pieces.get(id);
  }

  /** Every indexed piece. */
  entries(): DocEntry[] {
    return [...this.pieces.values()];
  }

  /** Adds `entries`, replacing entries with the same id (and all their pieces). */
  async upsert(entries: readonly DocEntry[], options: UpsertOptions = {}): Promise<void> {
    const pieces = chunkEntries(entries, { maximumTokens: this.maximumTokens, tokenizer: this.getTokenizer() });
    const reporter = createProgressReporter({
      label: 'index',
      total: pieces.length,
      json: options.json ?? false,
      silent: options.silent ?? (options.progressStream === undefined && options.json !== true),
      ...(options.progressStream === undefined ? {} : { stream: options.progressStream }),
    });
    for (const entry of entries) this.delete(entry.id);
    for (let start = 0; start < pieces.length; start += embedBatchSize) {
      throwIfAborted(options.signal, 'DocsIndex.upsert');
      const batch = pieces.slice(start, start + embedBatchSize);
      const vectors = await this.embedder.embed(batch.map(entryEmbeddingText), options.signal === undefined ? {} : { signal: options.signal });
      if (vectors.length !== batch.length) {
        throw new EmbedderMismatchError({
          expected: `${this.embedder.id}/${this.embedder.dimension}`,
          message: `The embedder returned ${vectors.length} vectors for ${batch.length} texts`,
        });
      }
      batch.forEach((piece, offset) => {
        this.vectors.upsert(piece.id, vectors[offset] as Float32Array);
        this.addPieceText(piece);
      });
      reporter.update({ completed: start + batch.length });
    }
    reporter.finish({ pieces: this.size });
  }

  /** Removes the entry `id` and all its pieces. Returns whether anything was removed. */
  delete(id: string): boolean {
    let removed = false;
    for (let piece = 1; ; piece++) {
      const pieceId = piece === 1 ? id : `${id}#${piece}`;
      if (!this.pieces.has(pieceId)) break;
      this.pieces.delete(pieceId);
      this.lexical.delete(pieceId);
      this.vectors.delete(pieceId);
      removed = true;
    }
    return removed;
  }

  /**
   * Searches the index. Pieces of one entry are collapsed to the best one.
   * @throws EmbedderMismatchError when `options.embedder` differs from the index's embedder.
   */
  async search(query: string, options: DocsSearchOptions = {}): Promise<DocsSearchResult[]> {
    if (options.embedder !== undefined) checkSameEmbedder(options.embedder, this.embedder);
    const topK = options.topK ?? 10;
    if (!Number.isInteger(topK) || topK < 1) throw new InvalidArgumentError({ argument: 'topK', message: `must be a positive integer, got ${topK}` });
    throwIfAborted(options.signal, 'DocsIndex.search');
    const mode = options.mode ?? 'hybrid';
    const candidates = Math.max(50, topK * 5);
    const filter = this.filterOf(options.filter);
    const lexicalHits = mode === 'vector' ? [] : this.lexical.search(query, candidates, filter);
    let vectorHits: { id: string; similarity: number }[] = [];
    if (mode !== 'lexical') {
      const [queryVector] = await this.embedder.embed([query], options.signal === undefined ? {} : { signal: options.signal });
      if (queryVector === undefined) throw new EmbedderMismatchError({ expected: this.embedder.id, message: 'The embedder returned no vector' });
      vectorHits = this.vectors
        .search(queryVector, { topK: candidates, ...(options.ef === undefined ? {} : { ef: options.ef }), ...(filter === undefined ? {} : { filter }) })
        .map((hit) => ({ ...hit, weighted: hit.similarity * entryPrior(this.pieces.get(hit.id) as DocEntry) }))
        .sort((left, right) => right.weighted - left.weighted)
        .map(({ id, similarity }) => ({ id, similarity }));
    }
    const lexicalById = new Map(lexicalHits.map((hit, index) => [hit.id, { rank: index + 1, score: hit.score }]));
    const vectorById = new Map(vectorHits.map((hit, index) => [hit.id, { rank: index + 1, similarity: hit.similarity }]));
    const fused = reciprocalRankFusion([lexicalHits.map((hit) => hit.id), vectorHits.map((hit) => hit.id)], fusionK, [1, vectorFusionWeight]);
    const ordered =
      mode === 'lexical'
        ? lexicalHits.map((hit) => ({ id: hit.id, score: hit.score }))
        : mode === 'vector'
          ? vectorHits.map((hit) => ({ id: hit.id, score: hit.similarity }))
          : fused;
    const fusedById = new Map(fused.map((item) => [item.id, item.score]));
    const seen = new Set<string>();
    let results: DocsSearchResult[] = [];
    for (const { id, score } of ordered) {
      const entry = this.pieces.get(id);
      if (entry === undefined) continue;
      const baseId = entry.chunk === undefined ? entry.id : entry.id.replace(/#\d+$/, '');
      if (seen.has(baseId)) continue;
      seen.add(baseId);
      const breakdown: ScoreBreakdown = { fused: fusedById.get(id) ?? 0 };
      const lexical = lexicalById.get(id);
      const vector = vectorById.get(id);
      if (lexical !== undefined) breakdown.lexical = lexical;
      if (vector !== undefined) breakdown.vector = vector;
      results.push({ entry, score, breakdown });
    }
    if (options.mmr !== undefined && options.mmr !== false) {
      const lambda = typeof options.mmr === 'object' ? (options.mmr.lambda ?? 0.7) : 0.7;
      const pool = results.slice(0, Math.max(topK * 4, 20));
      const byId = new Map(pool.map((result) => [result.entry.id, result]));
      const picked = maximalMarginalRelevance(
        pool.map((result) => ({
          id: result.entry.id,
          relevance: result.score,
          vector: this.vectors.vectorOf(result.entry.id) ?? new Float32Array(this.embedder.dimension),
        })),
        topK,
        lambda,
      );
      results = picked.map((id) => byId.get(id) as DocsSearchResult);
    }
    return results.slice(0, topK);
  }

  /**
   * Core's `Retriever`: the `k` best entries for `query` by hybrid search, as prompt-ready text
   * (name, kind, source, signatures, documentation) with the fused score and `package/file:line`
   * as source.
   */
  async retrieve(query: string, options: RetrieveOptions): Promise<RetrievedDocument[]> {
    const results = await this.search(query, { topK: options.k, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    return results.map(({ entry, score }) => ({
      id: entry.id,
      text: entryPromptText(entry),
      score,
      source: `${entry.package}/${entry.sourceFile}:${entry.line}`,
    }));
  }

  /**
   * Saves the index to `directory`: content-addressed data files first (each written atomically),
   * then the manifest as the atomic switch, then stale data files are removed. A crash at any point
   * leaves the previous or the new index loadable.
   */
  async save(directory: string, options: { signal?: AbortSignal } = {}): Promise<IndexManifest> {
    await mkdir(directory, { recursive: true });
    throwIfAborted(options.signal, 'DocsIndex.save');
    const graph = await writeDataFile(directory, 'graph', 'bin', await this.vectors.toBytes(directory));
    throwIfAborted(options.signal, 'DocsIndex.save');
    const docstore = await writeDataFile(
      directory,
      'docstore',
      'json',
      Buffer.from(JSON.stringify({ entries: [...this.pieces.values()], labels: this.vectors.labels() })),
    );
    const embedderState =
      this.embedder instanceof LocalEmbedder
        ? await writeDataFile(directory, 'embedder', 'json', Buffer.from(JSON.stringify(this.embedder.toState())))
        : undefined;
    throwIfAborted(options.signal, 'DocsIndex.save');
    const manifest: IndexManifest = {
      format: indexFormat,
      formatVersion: indexFormatVersion,
      embedder: { id: this.embedder.id, dimension: this.embedder.dimension },
      count: this.size,
      ef: this.vectors.ef,
      files: { graph, docstore, ...(embedderState === undefined ? {} : { embedderState }) },
      createdAt: new Date().toISOString(),
    };
    await writeFileAtomic(join(directory, manifestFileName), `${JSON.stringify(manifest, null, 2)}\n`);
    const keep = new Set([graph.name, docstore.name, embedderState?.name]);
    for (const name of await readdir(directory)) {
      if ((dataFilePattern.test(name) && !keep.has(name)) || /^\..*\.tmp$/.test(name)) {
        await rm(join(directory, name), { force: true });
      }
    }
    return manifest;
  }

  private getTokenizer(): Tokenizer {
    this.tokenizer ??= getTokenizer('cl100k_base');
    return this.tokenizer;
  }

  private addPieceText(piece: DocEntry): void {
    this.pieces.set(piece.id, piece);
    this.lexical.upsert(piece.id, {
      names: entryNames(piece),
      signatures: piece.signatures.join('\n'),
      documentation: entryDocumentation(piece),
    }, entryPrior(piece));
  }

  private filterOf(filter: SearchFilter | undefined): ((id: string) => boolean) | undefined {
    if (filter === undefined) return undefined;
    const packages = filter.package === undefined ? undefined : new Set(typeof filter.package === 'string' ? [filter.package] : filter.package);
    const kinds = filter.kind === undefined ? undefined : new Set(typeof filter.kind === 'string' ? [filter.kind] : filter.kind);
    const deprecated = filter.deprecated;
    if (packages === undefined && kinds === undefined && deprecated === undefined) return undefined;
    return (id) => {
      const entry = this.pieces.get(id);
      if (entry === undefined) return false;
      if (packages !== undefined && !packages.has(entry.package)) return false;
      if (kinds !== undefined && !kinds.has(entry.kind)) return false;
      if (deprecated !== undefined && (entry.deprecated !== undefined) !== deprecated) return false;
      return true;
    };
  }
}

async function writeDataFile(directory: string, prefix: string, extension: string, bytes: Buffer): Promise<ManifestFile> {
  const sha256 = sha256Hex(bytes);
  const name = `${prefix}-${sha256.slice(0, 16)}.${extension}`;
  const path = join(directory, name);
  const existing = await stat(path).catch(() => undefined);
  if (existing?.size !== bytes.length) await writeFileAtomic(path, bytes);
  return { name, sha256, bytes: bytes.length };
}

function parseJson(bytes: Buffer, path: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new FileFormatError({ path, reason: 'corrupt', message: 'not valid JSON', cause });
  }
}

function checkEmbedder(embedder: Embedder): void {
  if (typeof embedder?.id !== 'string' || !Number.isInteger(embedder.dimension) || embedder.dimension < 1 || typeof embedder.embed !== 'function') {
    throw new InvalidArgumentError({ argument: 'embedder', message: 'must have a string id, a positive integer dimension and an embed method' });
  }
}

function checkSameEmbedder(embedder: Embedder, expected: { id: string; dimension: number }): void {
  if (embedder.id !== expected.id || embedder.dimension !== expected.dimension) {
    throw new EmbedderMismatchError({
      expected: `${expected.id}/${expected.dimension}`,
      message: `The index was built with embedder ${expected.id} (dimension ${expected.dimension}); refusing ${embedder.id} (dimension ${embedder.dimension})`,
    });
  }
}
