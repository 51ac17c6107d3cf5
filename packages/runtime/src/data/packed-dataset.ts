import { FileFormatError, InvalidArgumentError } from '@codestack/core';
import { SeededRandom, type SeededRandomState } from '../random/seeded-random.js';
import { listTokenShards, readTokenShard, readTokenShardHeader, type TokenShardHeader } from './token-shards.js';

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
}

/** A batch of packed next-token prediction examples. */
export interface TrainingBatch {
  /** Number of rows. */
  batchSize: number;
  /** Tokens per row. */
  sequenceLength: number;
  /** Input ids, row-major [batchSize, sequenceLength]. */
  inputs: Int32Array;
  /** Target ids (inputs shifted by one), row-major [batchSize, sequenceLength]. */
  targets: Int32Array;
}

/** Options of {@link PackedDataset.open}. */
export interface PackedDatasetOptions {
  /** Seed of the shard-order shuffle (one shuffle per epoch). Default 0. */
  seed?: number;
  /** Shuffle the shard order each epoch (default true). The first epoch is shuffled too. */
  shuffleShards?: boolean;
  /** Refuse ids at or above this (the model's vocabulary size). */
  vocabularySize?: number;
}

/**
 * Packed sequences streamed from a directory of token shards: the shards are one long token
 * stream (in a per-epoch shuffled shard order), cut into rows of `sequenceLength + 1` tokens with
 * stride `sequenceLength`; rows may cross shard boundaries. Only one shard is held in memory.
 */
export class PackedDataset {
  /** The shard files, sorted by name. */
  readonly shards: readonly string[];
  /** The shard headers. */
  readonly headers: readonly TokenShardHeader[];
  private readonly options: PackedDatasetOptions;
  private position: DataPosition;
  private loaded: { index: number; tokens: Uint16Array | Uint32Array } | undefined;

  private constructor(shards: string[], headers: TokenShardHeader[], options: PackedDatasetOptions) {
    this.shards = shards;
    this.headers = headers;
    this.options = options;
    const random = new SeededRandom(options.seed ?? 0);
    this.position = { epoch: 0, shardIndex: 0, offset: 0, order: this.shuffle(random), randomState: random.getState() };
  }

  /** Opens every `*.tokens` shard of `directory` (headers are checked now, checksums on load). */
  static async open(directory: string, options: PackedDatasetOptions = {}): Promise<PackedDataset> {
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
  getPosition(): DataPosition {
    return structuredClone(this.position);
  }

  /** Moves to a saved position. */
  setPosition(position: DataPosition): void {
    if (
      typeof position !== 'object' ||
      position === null ||
      !Array.isArray(position.order) ||
      position.order.length !== this.shards.length ||
      !(position.shardIndex >= 0 && position.shardIndex < this.shards.length) ||
      !(position.offset >= 0)
    ) {
      throw new InvalidArgumentError({ argument: 'position', message: 'the data position does not fit these shards' });
    }
    this.position = structuredClone(position);
  }

  /** Reads the next batch and advances the position. */
  async nextBatch(batchSize: number, sequenceLength: number): Promise<TrainingBatch> {
    for (const [name, value] of [['batchSize', batchSize], ['sequenceLength', sequenceLength]] as const) {
      if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError({ argument: name, message: `expected a positive integer, got ${value}` });
    }
    const inputs = new Int32Array(batchSize * sequenceLength);
    const targets = new Int32Array(batchSize * sequenceLength);
    for (let row = 0; row < batchSize; row++) {
      const window = await this.readWindow(sequenceLength + 1);
      inputs.set(window.subarray(0, sequenceLength), row * sequenceLength);
      targets.set(window.subarray(1), row * sequenceLength);
    }
    return { batchSize, sequenceLength, inputs, targets };
  }

  /** Reads `length` tokens from the position, then advances by `length - 1` (rows overlap by one token). */
  private async readWindow(length: number): Promise<Int32Array> {
    const window = new Int32Array(length);
    const saved = structuredClone(this.position);
    let filled = 0;
    let advanceMark: DataPosition | undefined;
    while (filled < length) {
      if (filled === length - 1) advanceMark = structuredClone(this.position);
      const tokens = await this.currentTokens();
      if (this.position.offset >= tokens.length) {
        this.nextShard();
        continue;
      }
      const token = tokens[this.position.offset] as number;
      if (this.options.vocabularySize !== undefined && token >= this.options.vocabularySize) {
        throw new FileFormatError({
          path: this.shards[this.position.order[this.position.shardIndex] as number] as string,
          reason: 'mismatch',
          message: `token ${token} is outside the vocabulary of ${this.options.vocabularySize}`,
        });
      }
      window[filled++] = token;
      this.position.offset++;
    }
    this.position = advanceMark ?? saved;
    return window;
  }

  private async currentTokens(): Promise<Uint16Array | Uint32Array> {
    const index = this.position.order[this.position.shardIndex] as number;
    if (this.loaded?.index !== index) this.loaded = { index, tokens: (await readTokenShard(this.shards[index] as string)).tokens };
    return this.loaded.tokens;
  }

  private nextShard(): void {
    this.position.offset = 0;
    this.position.shardIndex++;
    if (this.position.shardIndex >= this.shards.length) {
      const random = SeededRandom.fromState(this.position.randomState);
      this.position.order = this.shuffle(random);
      this.position.randomState = random.getState();
      this.position.shardIndex = 0;
      this.position.epoch++;
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
