import { FileFormatError, InvalidArgumentError } from '@codestack/core';
import { SeededRandom, type SeededRandomState } from '../random/seeded-random.js';
import { listTokenShards, readTokenShard, readTokenShardHeader, type TokenShardHeader } from './token-shards.js';
import type { BatchSource, TrainingBatch } from './batch-source.js';

/** Shard bytes kept in memory by random row sampling (least recently used shards are dropped). */
const randomSamplingCacheBytes = 256 * 1024 * 1024;

/** Where a {@link PackedDataset} is in its stream; saved in checkpoints for exact resume. */
export interface DataPosition {
  /** Completed passes over all shards. */
  epoch: number;
  /** Index into this epoch's shard order. */
  shardIndex: number;
  /** Token offset inside the current shard. */
  offset: number;
  /** The shard order of this epoch (indices into the sorted shard list). */
  order: number[];
  /** The state of the generator that shuffles the shard order of each new epoch. */
  randomState: SeededRandomState;
  /** With `rowSampling: 'random'`: the state of the generator that draws each row's offset. */
  rowRandomState?: SeededRandomState;
}

/** Options of {@link PackedDataset.open}. */
export interface PackedDatasetOptions {
  /** Seed of the shard-order shuffle (one shuffle per epoch). Default 0. */
  seed?: number;
  /** Shuffle the shard order each epoch (default true). The first epoch is shuffled too. */
  shuffleShards?: boolean;
  /** Refuse ids at or above this (the model's vocabulary size). */
  vocabularySize?: number;
  /**
   * How the rows of a batch are chosen. `'sequential'` (default): consecutive rows of the
   * stream, so a batch's rows are neighbours (usually one file). `'random'`: every row starts at
   * its own uniformly drawn offset of the whole stream (shards in name order), drawn with a
   * generator seeded by `seed` whose state is part of the position, so resume stays exact.
   * Shards are loaded on demand and up to 256 MiB of them stay cached.
   */
  rowSampling?: 'sequential' | 'random';
}

/**
 * Packed sequences from a directory of token shards: the shards are one long token stream (in a
 * per-epoch shuffled shard order), cut into rows of `sequenceLength + 1` tokens with stride
 * `sequenceLength`; rows may cross shard boundaries. Only one shard is held in memory. With
 * `rowSampling: 'random'`, each row starts at an independent seeded random offset instead.
 * A {@link BatchSource}: the trainer saves its position in checkpoints.
 */
export class PackedDataset implements BatchSource<DataPosition> {
  /** The shard files, sorted by name. */
  readonly shards: readonly string[];
  /** The shard headers. */
  readonly headers: readonly TokenShardHeader[];
  private readonly options: PackedDatasetOptions;
  private cursor: DataPosition;
  private loaded: { index: number; tokens: Uint16Array | Uint32Array } | undefined;
  private readonly cache = new Map<number, Uint16Array | Uint32Array>();
  private readonly shardStarts: number[] = [];

  private constructor(shards: string[], headers: TokenShardHeader[], options: PackedDatasetOptions) {
    this.shards = shards;
    this.headers = headers;
    this.options = options;
    const random = new SeededRandom(options.seed ?? 0);
    this.cursor = { epoch: 0, shardIndex: 0, offset: 0, order: this.shuffle(random), randomState: random.getState() };
    if (options.rowSampling === 'random') {
      // A generator of its own (another seed stream), so the shard shuffle is unchanged.
      this.cursor.rowRandomState = new SeededRandom((options.seed ?? 0) ^ 0x2545f491).getState();
    }
    let start = 0;
    for (const header of headers) {
      this.shardStarts.push(start);
      start += header.count;
    }
  }

  /** Opens every `*.tokens` shard of `directory` (headers are checked now, checksums on load). */
  static async open(directory: string, options: PackedDatasetOptions = {}): Promise<PackedDataset> {
    const sampling = options.rowSampling ?? 'sequential';
    if (sampling !== 'sequential' && sampling !== 'random') {
      throw new InvalidArgumentError({ argument: 'rowSampling', message: `expected 'sequential' or 'random', got ${JSON.stringify(sampling)}` });
    }
    const shards = await listTokenShards(directory);
    const headers = await Promise.all(shards.map((shard) => readTokenShardHeader(shard)));
    if (headers.reduce((total, header) => total + header.count, 0) < 2) {
      throw new FileFormatError({ path: directory, reason: 'corrupt', message: 'the shards hold fewer than 2 tokens' });
    }
    return new PackedDataset(shards, headers, options);
  }

  /** Total tokens over all shards. */
  get totalTokens(): number {
    return this.headers.reduce((total, header) => total + header.count, 0);
  }

  /** The current position (a copy). */
  position(): DataPosition {
    return structuredClone(this.cursor);
  }

  /** Moves to a saved position; refuses one that does not fit these shards or this row sampling. */
  restore(position: DataPosition): void {
    const random = this.options.rowSampling === 'random';
    if (
      typeof position !== 'object' ||
      position === null ||
      !Array.isArray(position.order) ||
      position.order.length !== this.shards.length ||
      !(position.shardIndex >= 0 && position.shardIndex < this.shards.length) ||
      !(position.offset >= 0) ||
      random !== (position.rowRandomState !== undefined)
    ) {
      throw new InvalidArgumentError({ argument: 'position', message: 'the data position does not fit these shards' });
    }
    if (random) SeededRandom.fromState(position.rowRandomState as SeededRandomState);
    this.cursor = structuredClone(position);
  }

  /** Reads the next batch and advances the position. */
  async next(batchSize: number, sequenceLength: number): Promise<TrainingBatch> {
    for (const [name, value] of [['batchSize', batchSize], ['sequenceLength', sequenceLength]] as const) {
      if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError({ argument: name, message: `expected a positive integer, got ${value}` });
    }
    const inputs = new Int32Array(batchSize * sequenceLength);
    const targets = new Int32Array(batchSize * sequenceLength);
    for (let row = 0; row < batchSize; row++) {
      const window = this.options.rowSampling === 'random' ? await this.readRandomWindow(sequenceLength + 1) : await this.readWindow(sequenceLength + 1);
      inputs.set(window.subarray(0, sequenceLength), row * sequenceLength);
      targets.set(window.subarray(1), row * sequenceLength);
    }
    return { batchSize, sequenceLength, inputs, targets };
  }

  /** @deprecated Use {@link PackedDataset.position} (the `BatchSource` name). */
  getPosition(): DataPosition {
    return this.position();
  }

  /** @deprecated Use {@link PackedDataset.restore} (the `BatchSource` name). */
  setPosition(position: DataPosition): void {
    this.restore(position);
  }

  /** @deprecated Use {@link PackedDataset.next} (the `BatchSource` name). */
  nextBatch(batchSize: number, sequenceLength: number): Promise<TrainingBatch> {
    return this.next(batchSize, sequenceLength);
  }

  /** Reads `length` tokens from an offset of the whole stream drawn with the row generator. */
  private async readRandomWindow(length: number): Promise<Int32Array> {
    const total = this.totalTokens;
    if (length > total) throw new InvalidArgumentError({ argument: 'sequenceLength', message: `a row needs ${length} tokens but the shards hold ${total}` });
    const random = SeededRandom.fromState(this.cursor.rowRandomState as SeededRandomState);
    let offset = random.nextInt(total - length + 1);
    const window = new Int32Array(length);
    let shard = 0;
    while (shard + 1 < this.shardStarts.length && (this.shardStarts[shard + 1] as number) <= offset) shard++;
    offset -= this.shardStarts[shard] as number;
    let filled = 0;
    while (filled < length) {
      const tokens = await this.cachedTokens(shard);
      const take = Math.min(length - filled, tokens.length - offset);
      for (let index = 0; index < take; index++) window[filled + index] = this.checkedToken(tokens[offset + index] as number, shard);
      filled += take;
      shard++;
      offset = 0;
    }
    this.cursor.rowRandomState = random.getState();
    return window;
  }

  private async cachedTokens(index: number): Promise<Uint16Array | Uint32Array> {
    const cached = this.cache.get(index);
    if (cached !== undefined) {
      this.cache.delete(index);
      this.cache.set(index, cached);
      return cached;
    }
    const tokens = (await readTokenShard(this.shards[index] as string)).tokens;
    this.cache.set(index, tokens);
    let bytes = 0;
    for (const value of this.cache.values()) bytes += value.byteLength;
    for (const [key, value] of this.cache) {
      if (bytes <= randomSamplingCacheBytes || key === index) break;
      this.cache.delete(key);
      bytes -= value.byteLength;
    }
    return tokens;
  }

  private checkedToken(token: number, shard: number): number {
    if (this.options.vocabularySize !== undefined && token >= this.options.vocabularySize) {
      throw new FileFormatError({
        path: this.shards[shard] as string,
        reason: 'mismatch',
        message: `token ${token} is outside the vocabulary of ${this.options.vocabularySize}`,
      });
    }
    return token;
  }

  /** Reads `length` tokens from the position, then advances by `length - 1` (rows overlap by one token). */
  private async readWindow(length: number): Promise<Int32Array> {
    const window = new Int32Array(length);
    const saved = structuredClone(this.cursor);
    let filled = 0;
    let advanceMark: DataPosition | undefined;
    while (filled < length) {
      if (filled === length - 1) advanceMark = structuredClone(this.cursor);
      const tokens = await this.currentTokens();
      if (this.cursor.offset >= tokens.length) {
        this.nextShard();
        continue;
      }
      window[filled++] = this.checkedToken(tokens[this.cursor.offset] as number, this.cursor.order[this.cursor.shardIndex] as number);
      this.cursor.offset++;
    }
    this.cursor = advanceMark ?? saved;
    return window;
  }

  private async currentTokens(): Promise<Uint16Array | Uint32Array> {
    const index = this.cursor.order[this.cursor.shardIndex] as number;
    if (this.loaded?.index !== index) this.loaded = { index, tokens: (await readTokenShard(this.shards[index] as string)).tokens };
    return this.loaded.tokens;
  }

  private nextShard(): void {
    this.cursor.offset = 0;
    this.cursor.shardIndex++;
    if (this.cursor.shardIndex >= this.shards.length) {
      const random = SeededRandom.fromState(this.cursor.randomState);
      this.cursor.order = this.shuffle(random);
      this.cursor.randomState = random.getState();
      this.cursor.shardIndex = 0;
      this.cursor.epoch++;
    }
  }

  private shuffle(random: SeededRandom): number[] {
    const order = this.shards.map((_, index) => index);
    if (this.options.shuffleShards === false) return order;
    for (let index = order.length - 1; index > 0; index--) {
      const swap = random.nextInt(index + 1);
      [order[index], order[swap]] = [order[swap] as number, order[index] as number];
    }
    return order;
  }
}
