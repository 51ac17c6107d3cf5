/** A batch of next-token prediction examples. */
export interface TrainingBatch {
  /** Number of rows. */
  batchSize: number;
  /** Tokens per row. */
  sequenceLength: number;
  /** Input ids, row-major [batchSize, sequenceLength]. */
  inputs: Int32Array;
  /** Target ids (the next token of each input), row-major [batchSize, sequenceLength]. */
  targets: Int32Array;
  /**
   * Optional 0/1 loss mask, row-major [batchSize, sequenceLength]: 1 where the target counts
   * (prompt→completion pairs learn the completion only). Absent: every target counts. The
   * trainer's default loss refuses masked batches; pass a `lossFunction` that applies the mask.
   */
  mask?: Float32Array;
}

/**
 * Where training batches come from: the runtime's `PackedDataset` (token shards), or any other
 * source (the tuning package's in-memory windows and prompt→completion pairs). The trainer reads
 * `next` for every micro-batch and saves `position()` in its checkpoints; `restore` puts a fresh
 * source back at a saved position, so a resumed run reads exactly the batches an uninterrupted
 * run would have read. A seeded source keeps its generator state in the position.
 */
export interface BatchSource<Position = unknown> {
  /** Reads the next batch of `batchSize` rows of `sequenceLength` tokens and advances. */
  next(batchSize: number, sequenceLength: number): Promise<TrainingBatch>;
  /** The current position: a JSON-serialisable value (a copy, not a live reference). */
  position(): Position;
  /** Moves to a position from {@link BatchSource.position}; refuses one that does not fit with `InvalidArgumentError`. */
  restore(position: Position): void;
}
