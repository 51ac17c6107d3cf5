import { InvalidArgumentError, type Tokenizer } from '@codestack/core';
import type { KnnDatastore, KnnNeighbour, LlamaModel } from '@codestack/runtime';
import { defaultWindowFor, forEachWindow } from './knn-datastore.js';

/**
 * A small in-memory datastore searched exactly (every key, squared L2 distance): the keys are
 * float32 final hidden states, the values the tokens that followed. What the continuous cache
 * holds; exact search is cheap at the size of one file.
 */
export class ExactTokenDatastore implements KnnDatastore {
  /** Creates it over `keys` (`values.length × dimension` float32s) and `values`. */
  constructor(
    readonly dimension: number,
    readonly keys: Float32Array,
    readonly values: Int32Array,
  ) {
    if (!Number.isInteger(dimension) || dimension < 1 || keys.length !== values.length * dimension) {
      throw new InvalidArgumentError({ argument: 'keys', message: `expected ${values.length} keys of ${dimension}` });
    }
  }

  /** Stored pairs. */
  get size(): number {
    return this.values.length;
  }

  /** The `k` nearest keys to `vector` with their next tokens and squared L2 distances, nearest first. */
  search(vector: Float32Array, k: number): KnnNeighbour[] {
    const { dimension, keys } = this;
    const count = this.values.length;
    const wanted = Math.min(k, count);
    if (wanted <= 0) return [];
    // The best `wanted` so far, sorted (k is small: insertion beats a heap here).
    const best: KnnNeighbour[] = [];
    let worst = Infinity;
    for (let entry = 0; entry < count; entry++) {
      const offset = entry * dimension;
      let distance = 0;
      let index = 0;
      // Exact early abandon: the sum only grows, so a key already farther than the k-th best is dropped.
      while (index < dimension) {
        const end = Math.min(dimension, index + 16);
        for (; index < end; index++) {
          const difference = keys[offset + index]! - vector[index]!;
          distance += difference * difference;
        }
        if (distance >= worst) break;
      }
      if (distance >= worst) continue;
      if (best.length === wanted) best.pop();
      let position = best.length;
      while (position > 0 && best[position - 1]!.distance > distance) position--;
      best.splice(position, 0, { token: this.values[entry]!, distance });
      if (best.length === wanted) worst = best[wanted - 1]!.distance;
    }
    return best;
  }
}

/** Options of {@link buildContinuousCache}. */
export interface ContinuousCacheOptions {
  /** The model whose final hidden states become the keys (the one that will decode). */
  model: LlamaModel;
  /** Its tokenizer. */
  tokenizer: Tokenizer;
  /**
   * The text before the cursor: the whole file up to it, not only what fits the window. Never
   * pass text after the cursor: the cache would then hold the answer.
   */
  textBeforeCursor: string;
  /** Tokens per forward pass. Default {@link defaultWindowTokens} (1,024), or the model's context when shorter. */
  windowTokens?: number;
  /**
   * The cache holds at most the last so many tokens before the cursor (at least three quarters of
   * them: its start moves in steps). Default 4096, which bounds the exact search per step and the
   * cold build; on the validation API-member set it scored as the whole prefix did (33 of 143).
   */
  maximumTokens?: number;
  /** Cancels between windows. */
  signal?: AbortSignal;
}

/**
 * The continuous cache of Grave et al. (2017), "Improving neural language models with a
 * continuous cache", as a kNN datastore: runs the model over the text before the cursor in
 * windows (as `buildDatastore` does) and keeps, for every position, its final hidden state and
 * the token that followed. Mixed in with `KnnLogitsProcessor`, it lets a model with a short
 * window copy a name written earlier in the same file, beyond its window.
 */
export async function buildContinuousCache(options: ContinuousCacheOptions): Promise<ExactTokenDatastore> {
  return (await new ContinuousCacheBuilder().build(options)).cache;
}

/** What {@link ContinuousCacheBuilder.build} returns. */
export interface ContinuousCacheBuild {
  /** The cache. */
  cache: ExactTokenDatastore;
  /** Entries copied from the previous build (whole windows of the same tokens), not recomputed. */
  reusedEntries: number;
}

/**
 * Builds continuous caches, reusing the previous build's windows when the new text before the
 * cursor starts with the same tokens (an editor that asks again further down the file, or
 * evaluation cases of one file): a key depends only on the tokens of its window, so a reused
 * window is exactly what a new forward pass would give, and holds only text that is also before
 * the new cursor. Keeps one build; one builder per model (and adapter).
 */
export class ContinuousCacheBuilder {
  private previous: { model: LlamaModel; windowTokens: number; ids: number[]; cache: ExactTokenDatastore } | undefined;

  /** Builds the cache of `options.textBeforeCursor` (see {@link buildContinuousCache}). */
  async build(options: ContinuousCacheOptions): Promise<ContinuousCacheBuild> {
    const { model } = options;
    const dimension = model.config.hiddenSize;
    const windowTokens = options.windowTokens ?? defaultWindowFor(model);
    const maximumTokens = options.maximumTokens ?? 4096;
    if (!Number.isInteger(windowTokens) || windowTokens < 2 || windowTokens > model.config.maximumContext) {
      throw new InvalidArgumentError({ argument: 'windowTokens', message: `expected an integer in [2, ${model.config.maximumContext}], got ${windowTokens}` });
    }
    if (!Number.isInteger(maximumTokens) || maximumTokens < 2) throw new InvalidArgumentError({ argument: 'maximumTokens', message: `expected an integer of at least 2, got ${maximumTokens}` });
    const all = options.tokenizer.encode(options.textBeforeCursor);
    // Keep at most the last maximumTokens, from a start that moves in steps (not with every token
    // typed), so a request further down a long file still reuses the windows of the one before.
    const step = Math.max(1, Math.min((windowTokens - 1) * 4, Math.floor(maximumTokens / 4)));
    const ids = all.slice(Math.ceil(Math.max(0, all.length - maximumTokens) / step) * step);
    const entries = Math.max(0, ids.length - 1);
    const keys = new Float32Array(entries * dimension);
    const values = new Int32Array(entries);
    // Whole windows (stride windowTokens − 1) whose tokens all match the previous build's are copied.
    let reusedWindows = 0;
    const previous = this.previous;
    if (previous !== undefined && previous.model === model && previous.windowTokens === windowTokens) {
      let common = 0;
      const limit = Math.min(ids.length, previous.ids.length);
      while (common < limit && ids[common] === previous.ids[common]) common++;
      while ((reusedWindows + 1) * (windowTokens - 1) + 1 <= common) reusedWindows++;
    }
    let stored = reusedWindows * (windowTokens - 1);
    if (stored > 0) {
      keys.set(previous!.cache.keys.subarray(0, stored * dimension));
      values.set(previous!.cache.values.subarray(0, stored));
    }
    const reusedEntries = stored;
    await forEachWindow(model, ids.slice(stored), windowTokens, options.signal, (hidden, nextTokens) => {
      keys.set(hidden.subarray(0, nextTokens.length * dimension), stored * dimension);
      values.set(nextTokens, stored);
      stored += nextTokens.length;
    });
    const cache = new ExactTokenDatastore(dimension, keys, values);
    this.previous = { model, windowTokens, ids, cache };
    return { cache, reusedEntries };
  }
}
