/** Options of {@link Embedder.embed}. */
export interface EmbedOptions {
  /** Cancels the call; the embedder then rejects with core's `AbortedError`. */
  signal?: AbortSignal;
}

/**
 * Turns texts into fixed-size vectors. Retrieval indexes record an embedder's `id` and
 * `dimension` and refuse queries through any other embedder.
 */
export interface Embedder {
  /** Identifies the model and its fitted state; two embedders with the same id give the same vectors. */
  readonly id: string;
  /** The length of every vector this embedder returns. */
  readonly dimension: number;
  /** Embeds `texts`, returning one vector of length `dimension` per text, in order. */
  embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]>;
}
