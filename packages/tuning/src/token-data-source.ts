import { InvalidArgumentError } from '@codestack/core';
import { SeededRandom, type BatchSource, type SeededRandomState, type TrainingBatch } from '@codestack/runtime';
import { buildWindows, type TokenData, type TokenWindow } from './training-data.js';

/** Where a {@link TokenDataSource} is: the state of its window sampler. */
export interface TokenDataPosition {
  /** The sampler's generator state. */
  randomState: SeededRandomState;
}

/** Options of {@link TokenDataSource}. */
export interface TokenDataSourceOptions {
  /** Positions per window (the trainer's `sequenceLength`). */
  sequenceLength: number;
  /** Refuse token ids at or above this (the model's vocabulary size). */
  vocabularySize: number;
  /** Seed of the window sampler. Default 0. */
  seed?: number;
}

/**
 * A {@link BatchSource} over data held in memory: token sequences (every next token learned) or
 * prompt→completion pairs (the batch's `mask` keeps the completion targets only), cut into
 * windows by {@link buildWindows}. Each row of a batch is a window drawn independently with a
 * seeded generator, whose state is the position, so the trainer's checkpoints resume exactly.
 */
export class TokenDataSource implements BatchSource<TokenDataPosition> {
  /** The windows rows are drawn from. */
  readonly windows: readonly TokenWindow[];
  /** Positions per window. */
  readonly sequenceLength: number;
  private random: SeededRandom;

  /** Cuts `data` into windows now (refusing bad token ids and data without a target). */
  constructor(data: TokenData, options: TokenDataSourceOptions) {
    this.sequenceLength = options.sequenceLength;
    this.windows = buildWindows(data, options.sequenceLength, options.vocabularySize);
    this.random = new SeededRandom(options.seed ?? 0);
  }

  /** Draws `batchSize` windows (with replacement); `sequenceLength` must be the windows' length. */
  async next(batchSize: number, sequenceLength: number): Promise<TrainingBatch> {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError({ argument: 'batchSize', message: `expected a positive integer, got ${batchSize}` });
    if (sequenceLength !== this.sequenceLength) {
      throw new InvalidArgumentError({ argument: 'sequenceLength', message: `the windows have ${this.sequenceLength} positions, not ${sequenceLength}` });
    }
    const inputs = new Int32Array(batchSize * sequenceLength);
    const targets = new Int32Array(batchSize * sequenceLength);
    const mask = new Float32Array(batchSize * sequenceLength);
    for (let row = 0; row < batchSize; row++) {
      const window = this.windows[this.random.nextInt(this.windows.length)] as TokenWindow;
      inputs.set(window.inputs, row * sequenceLength);
      targets.set(window.targets, row * sequenceLength);
      mask.set(window.mask, row * sequenceLength);
    }
    return { batchSize, sequenceLength, inputs, targets, mask };
  }

  /** The sampler's state (a copy). */
  position(): TokenDataPosition {
    return { randomState: this.random.getState() };
  }

  /** Puts the sampler back at a saved state. */
  restore(position: TokenDataPosition): void {
    if (typeof position !== 'object' || position === null) throw new InvalidArgumentError({ argument: 'position', message: 'expected { randomState }' });
    this.random = SeededRandom.fromState(position.randomState);
  }
}
