import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Embedder, RetrieveOptions, RetrievedDocument, Retriever, Tokenizer, VectorIndex } from '@codestack/core';
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
import { entryBm25Fields, entryEmbeddingText, entryPrior, entryPromptText, type DocEntry, type DocEntryKind } from './doc-entry.js';
import { EmbedderMismatchError } from './embedder-mismatch-error.js';
import type { DocsStore, DocsStorePiece } from './docs-store.js';
import { DocsStoreError } from './docs-store-error.js';
import { ExactVectorIndex } from './exact-vector-index.js';
import { identifierTokens } from './identifier-tokens.js';
import {
  HnswVectorIndex,
  checkHnswLabels,
  checkIntegerInRange,
  defaultSearchEf,
  maximumSearchEf,
  type HnswLabels,
  type HnswVectorIndexOptions,
} from './hnsw-vector-index.js';
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
  /** Only these package versions, such as `20.19.9`. */
  version?: string | readonly string[];
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
  /** HNSW search `ef` for this query, an integer in [1, {@link maximumSearchEf}]. Defaults to the index's `ef`. */
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
  /** Default HNSW search `ef`, an integer in [1, {@link maximumSearchEf}]. Defaults to {@link defaultSearchEf}. */
  ef?: number;
  /** hnswlib construction options (of the default vector index). */
  hnsw?: HnswVectorIndexOptions;
  /**
   * Creates the vector store for vectors of `dimension` (the embedder's). Defaults to an
   * {@link HnswVectorIndex} with `hnsw` and `ef`. Any core `VectorIndex` drops in, such as
   * `new ExactVectorIndex(dimension)`; {@link DocsIndex.save} writes the hnswlib graph, so only
   * an index over the default store can be saved.
   */
  createVectorIndex?: (dimension: number) => VectorIndex;
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

/** Options of {@link DocsIndex.open}. */
export interface OpenDocsIndexOptions {
  /** The store, such as a `PostgresDocsStore`; the caller closes it. */
  store: DocsStore;
  /**
   * The embedder. Required for a store that records none yet (it is recorded then) or one built with
   * a remote embedder; must match the recorded one. A store built with a `LocalEmbedder` restores it.
   */
  embedder?: Embedder;
  /** Default approximate search `ef`. Defaults to {@link defaultSearchEf}. */
  ef?: number;
  /** See {@link CreateDocsIndexOptions.maximumTokens}. */
  maximumTokens?: number;
  /** See {@link CreateDocsIndexOptions.tokenizer}. */
  tokenizer?: Tokenizer;
  /** Cancels the open. */
  signal?: AbortSignal;
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
  private readonly vectors: VectorIndex;
  private readonly searchEf: number;
  private readonly lexical = new Bm25Index();
  private readonly pieces = new Map<string, DocEntry>();
  private readonly maximumTokens: number;
  private tokenizer: Tokenizer | undefined;
  private readonly store: DocsStore | undefined;

  private constructor(embedder: Embedder, vectors: VectorIndex, options: CreateDocsIndexOptions, store?: DocsStore) {
    this.embedder = embedder;
    this.vectors = vectors;
    this.store = store;
    this.searchEf = options.ef === undefined ? defaultSearchEf : checkIntegerInRange(options.ef, 'ef', 1, maximumSearchEf);
    this.maximumTokens = checkIntegerInRange(options.maximumTokens ?? 512, 'maximumTokens', 1, 1_000_000);
    this.tokenizer = options.tokenizer;
  }

  /**
   * An empty index over `embedder`.
   * @throws InvalidArgumentError when `ef` (or an hnswlib option) is not an integer in its range,
   * such as `ef` in [1, {@link maximumSearchEf}].
   */
  static create(embedder: Embedder, options: CreateDocsIndexOptions = {}): DocsIndex {
    checkEmbedder(embedder);
    if (options.createVectorIndex !== undefined) {
      const vectors = options.createVectorIndex(embedder.dimension);
      if (vectors.dimension !== embedder.dimension) {
        throw new InvalidArgumentError({
          argument: 'createVectorIndex',
          message: `must create a vector index of the embedder's dimension ${embedder.dimension}, got ${vectors.dimension}`,
        });
      }
      return new DocsIndex(embedder, vectors, options);
    }
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
      const statePath = join(directory, manifest.files.embedderState.name);
      const state = parseJson(await readCheckedFile(directory, manifest.files.embedderState), statePath);
      let local: LocalEmbedder;
      try {
        local = LocalEmbedder.fromState(state);
      } catch (cause) {
        throw new FileFormatError({ path: statePath, reason: 'corrupt', message: `not a local embedder state: ${cause instanceof Error ? cause.message : String(cause)}`, cause });
      }
      if (local.id !== manifest.embedder.id || local.dimension !== manifest.embedder.dimension) {
        throw new FileFormatError({
          path: statePath,
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
    const docstore = checkDocstore(parseJson(await readCheckedFile(directory, manifest.files.docstore), docstorePath), docstorePath, manifest);
    const graphPath = join(directory, manifest.files.graph.name);
    const graphBytes = await readCheckedFile(directory, manifest.files.graph);
    throwIfAborted(options.signal, 'DocsIndex.load');
    const vectors = await HnswVectorIndex.fromBytes(graphBytes, graphPath, manifest.embedder.dimension, docstore.labels, {
      ...options.hnsw,
      ef: manifest.ef,
    });
    if (vectors.size !== manifest.count) {
      throw new FileFormatError({ path: graphPath, reason: 'mismatch', message: `the manifest says ${manifest.count} pieces, the graph holds ${vectors.size}` });
    }
    const index = new DocsIndex(embedder, vectors, options);
    for (const piece of docstore.entries) index.addPieceText(piece);
    return index;
  }

  /**
   * An index over a {@link DocsStore} (such as PostgreSQL with pgvector) instead of memory and files.
   * Searches run in the store; {@link DocsIndex.upsert} replaces whole package versions there and
   * {@link DocsIndex.deletePackage} removes them, each in one transaction. `size`, `get`, `entries`,
   * `delete` and `save` are of the in-memory index: over a store they see nothing, refuse or throw.
   * @throws EmbedderMismatchError when `options.embedder` is not the store's recorded embedder.
   * @throws InvalidArgumentError when the store records no embedder and none is given, or records a remote one and none is given.
   */
  static async open(options: OpenDocsIndexOptions): Promise<DocsIndex> {
    const { store, signal } = options;
    const signalOption = signal === undefined ? {} : { signal };
    let recorded = await store.readEmbedder(signalOption);
    let embedder = options.embedder;
    if (recorded === undefined) {
      if (embedder === undefined) {
        throw new InvalidArgumentError({ argument: 'embedder', message: 'the store is empty; pass the embedder to record in it' });
      }
      checkEmbedder(embedder);
      recorded = await store.initialize(
        { id: embedder.id, dimension: embedder.dimension, ...(embedder instanceof LocalEmbedder ? { state: embedder.toState() } : {}) },
        signalOption,
      );
    }
    if (embedder !== undefined) {
      checkSameEmbedder(embedder, recorded);
    } else if (recorded.state !== undefined) {
      try {
        embedder = LocalEmbedder.fromState(recorded.state);
      } catch (cause) {
        throw new DocsStoreError({ reason: 'corrupt', message: `the store's local embedder state does not load: ${cause instanceof Error ? cause.message : String(cause)}`, cause });
      }
      checkSameEmbedder(embedder, recorded);
    } else {
      throw new InvalidArgumentError({ argument: 'embedder', message: `the store was built with ${recorded.id}; pass that embedder to open it` });
    }
    const createOptions: CreateDocsIndexOptions = {
      ...(options.ef === undefined ? {} : { ef: options.ef }),
      ...(options.maximumTokens === undefined ? {} : { maximumTokens: options.maximumTokens }),
      ...(options.tokenizer === undefined ? {} : { tokenizer: options.tokenizer }),
    };
    return new DocsIndex(embedder, new ExactVectorIndex(embedder.dimension), createOptions, store);
  }

  /**
   * Deletes every piece of `packageName` (of one version, or of all when `packageVersion` is absent):
   * in the store in one transaction, or from memory. Returns the number of pieces removed.
   */
  async deletePackage(packageName: string, packageVersion?: string, options: { signal?: AbortSignal } = {}): Promise<number> {
    if (this.store !== undefined) return this.store.deletePackage(packageName, packageVersion, options);
    let removed = 0;
    for (const piece of [...this.pieces.values()]) {
      if (piece.package !== packageName || (packageVersion !== undefined && piece.packageVersion !== packageVersion)) continue;
      this.pieces.delete(piece.id);
      this.lexical.delete(piece.id);
      this.vectors.delete(piece.id);
      removed++;
    }
    return removed;
  }

  /** The number of indexed pieces (an entry split by the token budget counts once per piece). */
  get size(): number {
    return this.pieces.size;
  }

  /** The default HNSW search `ef`. */
  get ef(): number {
    return this.vectors instanceof HnswVectorIndex ? this.vectors.ef : this.searchEf;
  }

  /** The piece with id `id`. */
  get(id: string): DocEntry | undefined {
    return this.pieces.get(id);
  }

  /** Every indexed piece. */
  entries(): DocEntry[] {
    return [...this.pieces.values()];
  }

  /**
   * Adds `entries`, replacing entries with the same id (and all their pieces). Over a store
   * ({@link DocsIndex.open}), each package version among `entries` is replaced as a whole, in one
   * transaction, by its entries here.
   */
  async upsert(entries: readonly DocEntry[], options: UpsertOptions = {}): Promise<void> {
    const pieces = chunkEntries(entries, { maximumTokens: this.maximumTokens, tokenizer: this.getTokenizer() });
    if (this.store !== undefined) return this.replaceInStore(this.store, pieces, options);
    for (const entry of entries) this.delete(entry.id);
    await this.embedInBatches(
      pieces,
      options,
      (piece, vector) => {
        this.vectors.upsert(piece.id, vector);
        this.addPieceText(piece);
      },
      () => this.size,
    );
  }

  /**
   * Removes the entry `id` and all its pieces. Returns whether anything was removed.
   * @throws InvalidArgumentError over a store, which replaces and deletes whole package versions.
   */
  delete(id: string): boolean {
    if (this.store !== undefined) {
      throw new InvalidArgumentError({ argument: 'id', message: 'an index over a store deletes whole package versions: use deletePackage' });
    }
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
    const topK = checkIntegerInRange(options.topK ?? 10, 'topK', 1, maximumSearchEf);
    if (options.ef !== undefined) checkIntegerInRange(options.ef, 'ef', 1, maximumSearchEf);
    const lambda = typeof options.mmr === 'object' ? (options.mmr.lambda ?? 0.7) : 0.7;
    if (typeof lambda !== 'number' || !(lambda >= 0 && lambda <= 1)) {
      throw new InvalidArgumentError({ argument: 'mmr.lambda', message: `must be a number in [0, 1], got ${String(lambda)}` });
    }
    throwIfAborted(options.signal, 'DocsIndex.search');
    const mode = options.mode ?? 'hybrid';
    const candidates = Math.max(50, topK * 5);
    let lexicalHits: { id: string; score: number }[] = [];
    let vectorHits: { id: string; similarity: number }[] = [];
    let queryVector: Float32Array | undefined;
    if (mode !== 'lexical') {
      [queryVector] = await this.embedder.embed([query], options.signal === undefined ? {} : { signal: options.signal });
      if (queryVector === undefined) throw new EmbedderMismatchError({ expected: this.embedder.id, message: 'The embedder returned no vector' });
    }
    // Over a store, hits are keyed by package, version and piece id; in memory by piece id.
    let entryOf = (id: string): DocEntry | undefined => this.pieces.get(id);
    let vectorOf = (id: string): Float32Array | undefined => this.vectors.vectorOf?.(id);
    if (this.store !== undefined) {
      const found = await this.store.search({
        ...(mode === 'vector' ? {} : { lexicalTokens: identifierTokens(query) }),
        ...(queryVector === undefined ? {} : { vector: queryVector }),
        candidates,
        ef: options.ef ?? this.searchEf,
        ...(options.filter === undefined ? {} : { filter: options.filter }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      const entries = new Map<string, DocEntry>();
      const storedVectors = new Map<string, Float32Array>();
      for (const hit of [...found.lexical, ...found.vector]) entries.set(hit.key, hit.entry);
      for (const hit of found.vector) if (hit.vector !== undefined) storedVectors.set(hit.key, hit.vector);
      entryOf = (id) => entries.get(id);
      vectorOf = (id) => storedVectors.get(id);
      lexicalHits = found.lexical.map((hit) => ({ id: hit.key, score: hit.score }));
      vectorHits = found.vector.map((hit) => ({ id: hit.key, similarity: hit.score }));
    } else {
      const filter = this.filterOf(options.filter);
      if (mode !== 'vector') lexicalHits = this.lexical.search(query, candidates, filter);
      if (queryVector !== undefined) {
        vectorHits = this.vectors.search(queryVector, { topK: candidates, ...(options.ef === undefined ? {} : { ef: options.ef }), ...(filter === undefined ? {} : { filter }) });
      }
    }
    vectorHits = vectorHits
      .map((hit) => ({ ...hit, weighted: hit.similarity * entryPrior(entryOf(hit.id) as DocEntry) }))
      .sort((left, right) => right.weighted - left.weighted)
      .map(({ id, similarity }) => ({ id, similarity }));
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
    const keys = new Map<DocsSearchResult, string>();
    for (const { id, score } of ordered) {
      const entry = entryOf(id);
      if (entry === undefined) continue;
      const baseId = `${entry.package}@${entry.packageVersion}#${entry.chunk === undefined ? entry.id : entry.id.replace(/#\d+$/, '')}`;
      if (seen.has(baseId)) continue;
      seen.add(baseId);
      const breakdown: ScoreBreakdown = { fused: fusedById.get(id) ?? 0 };
      const lexical = lexicalById.get(id);
      const vector = vectorById.get(id);
      if (lexical !== undefined) breakdown.lexical = lexical;
      if (vector !== undefined) breakdown.vector = vector;
      const result = { entry, score, breakdown };
      keys.set(result, id);
      results.push(result);
    }
    if (options.mmr !== undefined && options.mmr !== false) {
      const pool = results.slice(0, Math.max(topK * 4, 20));
      const byId = new Map(pool.map((result) => [keys.get(result) as string, result]));
      const picked = maximalMarginalRelevance(
        pool.map((result) => ({
          id: keys.get(result) as string,
          relevance: result.score,
          vector: vectorOf(keys.get(result) as string) ?? new Float32Array(this.embedder.dimension),
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
    const results = await this.search(query, { topK: options.topK, ...(options.signal === undefined ? {} : { signal: options.signal }) });
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
   * @throws InvalidArgumentError when the index was created over another vector store than hnswlib
   * (`createVectorIndex`): the saved format is the hnswlib graph.
   */
  async save(directory: string, options: { signal?: AbortSignal } = {}): Promise<IndexManifest> {
    if (this.store !== undefined) {
      throw new InvalidArgumentError({ argument: 'directory', message: 'an index over a store is saved as it is written; there is nothing to save' });
    }
    const vectors = this.vectors;
    if (!(vectors instanceof HnswVectorIndex)) {
      throw new InvalidArgumentError({ argument: 'createVectorIndex', message: 'save writes the hnswlib graph; an index over another vector store cannot be saved' });
    }
    await mkdir(directory, { recursive: true });
    throwIfAborted(options.signal, 'DocsIndex.save');
    const graph = await writeDataFile(directory, 'graph', 'bin', await vectors.toBytes(directory));
    throwIfAborted(options.signal, 'DocsIndex.save');
    const docstore = await writeDataFile(
      directory,
      'docstore',
      'json',
      Buffer.from(JSON.stringify({ graphSha256: graph.sha256, entries: [...this.pieces.values()], labels: vectors.labels() })),
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
      ef: vectors.ef,
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

  private async replaceInStore(store: DocsStore, pieces: readonly DocEntry[], options: UpsertOptions): Promise<void> {
    const byPackage = new Map<string, DocsStorePiece[]>();
    await this.embedInBatches(
      pieces,
      options,
      (entry, vector) => {
        const key = JSON.stringify([entry.package, entry.packageVersion]);
        let list = byPackage.get(key);
        if (list === undefined) byPackage.set(key, (list = []));
        list.push({ entry, vector });
      },
      async () => {
        for (const [key, list] of byPackage) {
          const [packageName, packageVersion] = JSON.parse(key) as [string, string];
          await store.replacePackage(packageName, packageVersion, list, options.signal === undefined ? {} : { signal: options.signal });
        }
        return pieces.length;
      },
    );
  }

  /**
   * Embeds `pieces` in batches of {@link embedBatchSize} with progress, hands each piece and its
   * vector to `onPiece`, then runs `finish` and reports the piece count it returns.
   */
  private async embedInBatches(
    pieces: readonly DocEntry[],
    options: UpsertOptions,
    onPiece: (piece: DocEntry, vector: Float32Array) => void,
    finish: () => number | Promise<number>,
  ): Promise<void> {
    const reporter = createProgressReporter({
      label: 'index',
      total: pieces.length,
      json: options.json ?? false,
      silent: options.silent ?? (options.progressStream === undefined && options.json !== true),
      ...(options.progressStream === undefined ? {} : { stream: options.progressStream }),
    });
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
      batch.forEach((piece, offset) => onPiece(piece, vectors[offset] as Float32Array));
      reporter.update({ completed: start + batch.length });
    }
    reporter.finish({ pieces: await finish() });
  }

  private getTokenizer(): Tokenizer {
    this.tokenizer ??= getTokenizer('cl100k_base');
    return this.tokenizer;
  }

  private addPieceText(piece: DocEntry): void {
    this.pieces.set(piece.id, piece);
    this.lexical.upsert(piece.id, entryBm25Fields(piece), entryPrior(piece));
  }

  private filterOf(filter: SearchFilter | undefined): ((id: string) => boolean) | undefined {
    if (filter === undefined) return undefined;
    const packages = filter.package === undefined ? undefined : new Set(typeof filter.package === 'string' ? [filter.package] : filter.package);
    const kinds = filter.kind === undefined ? undefined : new Set(typeof filter.kind === 'string' ? [filter.kind] : filter.kind);
    const versions = filter.version === undefined ? undefined : new Set(typeof filter.version === 'string' ? [filter.version] : filter.version);
    const deprecated = filter.deprecated;
    if (packages === undefined && kinds === undefined && versions === undefined && deprecated === undefined) return undefined;
    return (id) => {
      const entry = this.pieces.get(id);
      if (entry === undefined) return false;
      if (packages !== undefined && !packages.has(entry.package)) return false;
      if (kinds !== undefined && !kinds.has(entry.kind)) return false;
      if (versions !== undefined && !versions.has(entry.packageVersion)) return false;
      if (deprecated !== undefined && (entry.deprecated !== undefined) !== deprecated) return false;
      return true;
    };
  }
}

async function writeDataFile(directory: string, prefix: string, extension: string, bytes: Buffer): Promise<ManifestFile> {
  const sha256 = sha256Hex(bytes);
  const name = `${prefix}-${sha256.slice(0, 16)}.${extension}`;
  const path = join(directory, name);
  // A file of this name may already hold these bytes (an unchanged file); rewrite it unless it does.
  const existing = await readFile(path).catch(() => undefined);
  if (existing === undefined || existing.length !== bytes.length || sha256Hex(existing) !== sha256) await writeFileAtomic(path, bytes);
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

/** The docstore file: the pieces, the label table of the graph, and the SHA-256 of that graph. */
interface Docstore {
  graphSha256?: string;
  entries: DocEntry[];
  labels: HnswLabels;
}

const entryKinds: ReadonlySet<string> = new Set<DocEntryKind>([
  'module', 'namespace', 'class', 'interface', 'enum', 'enum-member', 'function', 'method', 'constructor', 'property', 'variable', 'type', 'markdown',
]);

/**
 * Checks a parsed docstore's shape completely (so a crafted one gives a `FileFormatError`, never a
 * `TypeError` later): the graph it was saved with, every entry's fields and types, unique ids, and a
 * label for exactly every entry.
 */
function checkDocstore(value: unknown, path: string, manifest: IndexManifest): Docstore {
  const corrupt = (message: string): FileFormatError => new FileFormatError({ path, reason: 'corrupt', message: `the docstore ${message}` });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt('is not an object');
  const docstore = value as Partial<Docstore>;
  if (docstore.graphSha256 !== undefined && docstore.graphSha256 !== manifest.files.graph.sha256) {
    throw new FileFormatError({ path, reason: 'mismatch', message: 'the docstore was saved with another graph than the manifest lists' });
  }
  if (!Array.isArray(docstore.entries)) throw corrupt('lacks entries');
  const labels = checkHnswLabels(docstore.labels, path);
  if (docstore.entries.length !== manifest.count || labels.labels.length !== manifest.count) {
    throw new FileFormatError({
      path,
      reason: 'mismatch',
      message: `the manifest says ${manifest.count} pieces, the docstore holds ${docstore.entries.length} entries and ${labels.labels.length} labels`,
    });
  }
  const labelled = new Set(labels.labels.map(([id]) => id));
  const seen = new Set<string>();
  docstore.entries.forEach((entry: unknown, position) => {
    const problem = docEntryProblem(entry);
    if (problem !== undefined) throw corrupt(`entry ${position} ${problem}`);
    const id = (entry as DocEntry).id;
    if (seen.has(id)) throw corrupt(`lists ${JSON.stringify(id.slice(0, 80))} twice`);
    if (!labelled.has(id)) throw corrupt(`has no label for ${JSON.stringify(id.slice(0, 80))}`);
    seen.add(id);
  });
  return docstore as Docstore;
}

function docEntryProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'is not an object';
  const entry = value as Record<string, unknown>;
  const isString = (item: unknown): item is string => typeof item === 'string';
  const isStrings = (item: unknown): boolean => Array.isArray(item) && item.every(isString);
  for (const field of ['id', 'name', 'summary', 'documentation', 'package', 'packageVersion', 'sourceFile'] as const) {
    if (!isString(entry[field])) return `has no string ${field}`;
  }
  if (!entryKinds.has(entry.kind as string)) return 'has an unknown kind';
  for (const field of ['aliases', 'signatures', 'examples'] as const) if (!isStrings(entry[field])) return `has no string array ${field}`;
  for (const field of ['returns', 'deprecated', 'since'] as const) if (entry[field] !== undefined && !isString(entry[field])) return `has a non-string ${field}`;
  if (entry.headingPath !== undefined && !isStrings(entry.headingPath)) return 'has a non-string headingPath';
  if (typeof entry.line !== 'number' || !Number.isInteger(entry.line) || entry.line < 0 || entry.line > 2 ** 31) return 'has no line number';
  const parameters = entry.parameters;
  if (!Array.isArray(parameters) || !parameters.every((parameter: unknown) => isString((parameter as DocParameterShape | null)?.name) && isString((parameter as DocParameterShape).text))) {
    return 'has malformed parameters';
  }
  if (entry.chunk !== undefined) {
    const chunk = entry.chunk as { index?: unknown; count?: unknown } | null;
    const count = chunk?.count;
    const index = chunk?.index;
    if (typeof count !== 'number' || typeof index !== 'number' || !Number.isInteger(count) || !Number.isInteger(index) || index < 1 || index > count || count > 1e6) {
      return 'has a malformed chunk';
    }
  }
  return undefined;
}

interface DocParameterShape {
  name: unknown;
  text: unknown;
}
