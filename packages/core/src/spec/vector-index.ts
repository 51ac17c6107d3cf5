/** One hit of a {@link VectorIndex} search. */
export interface VectorSearchHit {
  /** The id the vector was added under. */
  id: string;
  /** Cosine similarity between the query and this vector, in [-1, 1]. */
  similarity: number;
}

/** Options of {@link VectorIndex.search}. */
export interface VectorSearchOptions {
  /** The number of hits wanted. */
  topK: number;
  /** Size of the dynamic candidate list of an approximate search; higher is slower and more exact. */
  ef?: number;
  /** Keeps only ids for which this returns true; applied inside the search, not afterwards. */
  filter?: (id: string) => boolean;
}

/** A store of vectors addressed by string ids that answers nearest-neighbour queries. */
export interface VectorIndex {
  /** The length of every vector in the index. */
  readonly dimension: number;
  /** The number of live (not deleted) vectors. */
  readonly size: number;
  /** Adds or replaces the vector of `id`. */
  upsert(id: string, vector: Float32Array): void;
  /** Removes `id`; returns whether it was present. */
  delete(id: string): boolean;
  /** Whether `id` is present. */
  has(id: string): boolean;
  /** The nearest vectors to `query`, most similar first. */
  search(query: Float32Array, options: VectorSearchOptions): VectorSearchHit[];
  /**
   * The stored vector of `id`, or `undefined` when absent. Optional: a store that cannot return its
   * vectors leaves it out, and callers that diversify results by vector (MMR) fall back to zeros.
   */
  vectorOf?(id: string): Float32Array | undefined;
}
