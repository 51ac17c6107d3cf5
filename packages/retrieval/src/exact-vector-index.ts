import { InvalidArgumentError, type VectorIndex, type VectorSearchHit, type VectorSearchOptions } from '@codestack/core';
import { EmbedderMismatchError } from './embedder-mismatch-error.js';

/**
 * A core `VectorIndex` that answers by exact search: every query is compared with every stored
 * vector by cosine similarity. O(size × dimension) per query and no native code, which suits
 * small indexes, tests of approximate stores, and platforms without hnswlib. Pass it to
 * `DocsIndex.create(embedder, { createVectorIndex: (dimension) => new ExactVectorIndex(dimension) })`.
 */
export class ExactVectorIndex implements VectorIndex {
  /** The vector length. */
  readonly dimension: number;
  private readonly vectorsById = new Map<string, Float32Array>();

  /**
   * An empty index of `dimension`-long vectors.
   * @throws InvalidArgumentError when `dimension` is not an integer in [1, 65536].
   */
  constructor(dimension: number) {
    if (!Number.isInteger(dimension) || dimension < 1 || dimension > 65_536) {
      throw new InvalidArgumentError({ argument: 'dimension', message: `must be an integer in [1, 65536], got ${String(dimension)}` });
    }
    this.dimension = dimension;
  }

  /** The number of stored vectors. */
  get size(): number {
    return this.vectorsById.size;
  }

  /** Whether `id` is present. */
  has(id: string): boolean {
    return this.vectorsById.has(id);
  }

  /** The stored (normalised) vector of `id`. */
  vectorOf(id: string): Float32Array | undefined {
    const vector = this.vectorsById.get(id);
    return vector === undefined ? undefined : Float32Array.from(vector);
  }

  /**
   * Adds or replaces the vector of `id` (stored normalised to unit length).
   * @throws EmbedderMismatchError when `vector` has the wrong length.
   */
  upsert(id: string, vector: Float32Array): void {
    this.checkVector(vector);
    this.vectorsById.set(id, normalised(vector));
  }

  /** Removes `id`; returns whether it was present. */
  delete(id: string): boolean {
    return this.vectorsById.delete(id);
  }

  /**
   * The `topK` most similar vectors by cosine similarity, most similar first (ties by id). `ef` is
   * ignored: the search is exact.
   * @throws EmbedderMismatchError when `query` has the wrong length.
   */
  search(query: Float32Array, options: VectorSearchOptions): VectorSearchHit[] {
    this.checkVector(query);
    const unit = normalised(query);
    const hits: VectorSearchHit[] = [];
    for (const [id, vector] of this.vectorsById) {
      if (options.filter !== undefined && !options.filter(id)) continue;
      let dot = 0;
      for (let index = 0; index < vector.length; index++) dot += (vector[index] as number) * (unit[index] as number);
      hits.push({ id, similarity: dot });
    }
    hits.sort((left, right) => right.similarity - left.similarity || (left.id < right.id ? -1 : left.id > right.id ? 1 : 0));
    return hits.slice(0, Math.max(0, options.topK));
  }

  private checkVector(vector: Float32Array): void {
    if (vector.length !== this.dimension) {
      throw new EmbedderMismatchError({
        expected: `dimension ${this.dimension}`,
        message: `Vector has ${vector.length} dimensions but the index holds ${this.dimension}-dimensional vectors`,
      });
    }
  }
}

/** `vector` scaled to unit length (a zero vector stays zero). */
function normalised(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  const result = new Float32Array(vector.length);
  if (norm > 0) for (let index = 0; index < vector.length; index++) result[index] = (vector[index] as number) / norm;
  return result;
}
