import type { DocEntry } from './doc-entry.js';
import type { SearchFilter } from './docs-index.js';
import type { LocalEmbedderState } from './local-embedder.js';

/** The embedder a docs store was built with, recorded in the store. */
export interface StoredEmbedder {
  /** The embedder's id. */
  id: string;
  /** The length of its vectors. */
  dimension: number;
  /** The state of a `LocalEmbedder`, so a store built with one can be searched without the entries. */
  state?: LocalEmbedderState;
}

/** One piece to store: the entry (after chunking) and its embedding. */
export interface DocsStorePiece {
  /** The piece. */
  entry: DocEntry;
  /** Its embedding, of the store's dimension. */
  vector: Float32Array;
}

/** One hit of {@link DocsStore.search}. */
export interface DocsStoreHit {
  /** A key unique in the store: package, version and piece id. */
  key: string;
  /** The piece. */
  entry: DocEntry;
  /** Lexical: the BM25 score times the piece's prior (as `Bm25Index` with `entryPrior`); vector: the cosine similarity. */
  score: number;
  /** The stored vector (vector hits only). */
  vector?: Float32Array;
}

/** What {@link DocsStore.search} is asked: either side may be left out. */
export interface DocsStoreSearchRequest {
  /** Query tokens for the lexical side (already tokenised with `identifierTokens`); empty or absent skips it. */
  lexicalTokens?: readonly string[];
  /** The query embedding for the vector side; absent skips it. */
  vector?: Float32Array;
  /** How many hits each side returns at most. */
  candidates: number;
  /** The approximate search's candidate list size. */
  ef: number;
  /** Restrictions applied inside both searches. */
  filter?: SearchFilter;
  /** Cancels the search. */
  signal?: AbortSignal;
}

/** The two rankings of one search, read from one snapshot of the store. */
export interface DocsStoreSearchResult {
  /** Lexical hits, best first. */
  lexical: DocsStoreHit[];
  /** Vector hits, most similar first. */
  vector: DocsStoreHit[];
}

/** Cancels a store operation. */
export interface DocsStoreOperationOptions {
  /**
   * Cancels the operation: checked between statements, and a store that can (`PostgresDocsStore`
   * over `pg`) also stops the statement running on the server.
   */
  signal?: AbortSignal;
}

/**
 * Where a `DocsIndex` opened with `DocsIndex.open` keeps its pieces, vectors and lexical index
 * instead of memory and files: many packages and versions side by side, each replaced or deleted
 * as a whole in one transaction.
 */
export interface DocsStore {
  /** The embedder recorded in the store, or `undefined` while the store is empty and uninitialised. */
  readEmbedder(options?: DocsStoreOperationOptions): Promise<StoredEmbedder | undefined>;
  /**
   * Records `embedder` as the store's embedder when none is recorded, and creates the tables for its
   * dimension. Returns the recorded embedder: `embedder`, or the one recorded earlier (the caller
   * compares them).
   */
  initialize(embedder: StoredEmbedder, options?: DocsStoreOperationOptions): Promise<StoredEmbedder>;
  /** Replaces every piece of `packageName`@`packageVersion` with `pieces` in one transaction. */
  replacePackage(packageName: string, packageVersion: string, pieces: readonly DocsStorePiece[], options?: DocsStoreOperationOptions): Promise<void>;
  /** Deletes `packageName` (one version, or every version when `packageVersion` is absent) in one transaction; returns the number of pieces removed. */
  deletePackage(packageName: string, packageVersion?: string, options?: DocsStoreOperationOptions): Promise<number>;
  /** The packages and versions in the store with their piece counts. */
  packages(options?: DocsStoreOperationOptions): Promise<{ package: string; version: string; pieces: number }[]>;
  /** Runs the lexical and the vector search over one snapshot. */
  search(request: DocsStoreSearchRequest): Promise<DocsStoreSearchResult>;
  /** Releases what the store opened itself (a pool, an embedded database); a client passed in stays open. */
  close(): Promise<void>;
}
