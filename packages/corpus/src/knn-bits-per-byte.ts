import type { Tokenizer } from '@codestack/core';
import { throwIfAborted } from '@codestack/core';
import { ExactTokenDatastore, type KnnMixingSettings } from '@codestack/orchestrator/local';
import { knnDistribution, softmax, type KnnDatastore, type LlamaModel } from '@codestack/runtime';
import { readForwardValues } from './forward-values.js';

/** Options of {@link knnBitsPerByte}. */
export interface KnnBitsPerByteOptions {
  model: LlamaModel;
  tokenizer: Tokenizer;
  /** The held-out texts. */
  texts: readonly string[];
  /** The datastore mixed in. */
  datastore: KnnDatastore;
  /** Mixing settings to measure, all in one pass over the texts. */
  settings: readonly KnnMixingSettings[];
  /**
   * Also measure the continuous cache with these settings: each text's own earlier positions
   * (hidden state, next token), searched exactly, alone and after the datastore (its first setting).
   */
  cache?: KnnMixingSettings;
  /** Stop after so many predicted tokens. Default unlimited. */
  maximumTokens?: number;
  onProgress?: (tokens: number) => void;
  signal?: AbortSignal;
}

/** Bits per byte of the model alone and of each mixing setting, over the same tokens. */
export interface KnnBitsPerByte {
  tokens: number;
  bytes: number;
  base: number;
  mixed: number[];
  /** With the cache alone, and after the datastore's first setting (when `cache` was given). */
  cache?: { alone: number; afterDatastore: number };
}

/**
 * Held-out bits per byte with and without a kNN-LM datastore (and, when asked, the continuous
 * cache of each text's own earlier tokens): windows of the model's context
 * overlapping by one token (as `buildDatastore` stores them), every token but a text's first
 * predicted once; the bytes are those of the predicted tokens' text.
 */
export async function knnBitsPerByte(options: KnnBitsPerByteOptions): Promise<KnnBitsPerByte> {
  const { model, tokenizer } = options;
  const windowTokens = model.config.maximumContext;
  const hiddenSize = model.config.hiddenSize;
  const vocabularySize = model.config.vocabularySize;
  const maximumK = Math.max(...options.settings.map((setting) => setting.k));
  let tokens = 0;
  let bytes = 0;
  let base = 0;
  const mixed = options.settings.map(() => 0);
  let cacheAlone = 0;
  let cacheAfterDatastore = 0;
  outer: for (const text of options.texts) {
    const ids = tokenizer.encode(text);
    // The text's own earlier positions: only tokens already predicted enter it.
    const cacheKeys = new Float32Array(options.cache === undefined ? 0 : ids.length * hiddenSize);
    const cacheValues = new Int32Array(options.cache === undefined ? 0 : ids.length);
    let cached = 0;
    for (let start = 0; start + 1 < ids.length; ) {
      throwIfAborted(options.signal, 'bits per byte');
      const window = ids.slice(start, start + windowTokens);
      const { logits: logitValues, hiddenStates: hiddenValues } = await readForwardValues(model, window);
      for (let position = 0; position + 1 < window.length; position++) {
        const target = window[position + 1]!;
        const probability = softmax(logitValues.slice(position * vocabularySize, (position + 1) * vocabularySize))[target]!;
        const neighbours = options.datastore.search(hiddenValues.slice(position * hiddenSize, (position + 1) * hiddenSize), maximumK);
        base -= Math.log2(probability);
        // The mixed probability of each setting; the first one's is what the cache mixes with below.
        const mixedProbabilities = options.settings.map((setting) => (1 - setting.lambda) * probability + setting.lambda * (knnDistribution(neighbours.slice(0, setting.k), setting.temperature).get(target) ?? 0));
        mixedProbabilities.forEach((mixedProbability, index) => (mixed[index] = mixed[index]! - Math.log2(mixedProbability)));
        if (options.cache !== undefined) {
          const hidden = hiddenValues.subarray(position * hiddenSize, (position + 1) * hiddenSize);
          const store = new ExactTokenDatastore(hiddenSize, cacheKeys.subarray(0, cached * hiddenSize), cacheValues.subarray(0, cached));
          const cacheProbability = knnDistribution(store.search(hidden, options.cache.k), options.cache.temperature).get(target) ?? 0;
          const afterDatastore = mixedProbabilities[0]!;
          const lambda = options.cache.lambda;
          cacheAlone -= Math.log2((1 - lambda) * probability + lambda * cacheProbability);
          cacheAfterDatastore -= Math.log2((1 - lambda) * afterDatastore + lambda * cacheProbability);
          cacheKeys.set(hidden, cached * hiddenSize);
          cacheValues[cached] = target;
          cached += 1;
        }
        bytes += Buffer.byteLength(tokenizer.decode([target]));
        tokens += 1;
        if (options.maximumTokens !== undefined && tokens >= options.maximumTokens) break outer;
      }
      start += window.length - 1;
      options.onProgress?.(tokens);
    }
  }
  return {
    tokens,
    bytes,
    base: base / bytes,
    mixed: mixed.map((total) => total / bytes),
    ...(options.cache === undefined ? {} : { cache: { alone: cacheAlone / bytes, afterDatastore: cacheAfterDatastore / bytes } }),
  };
}
