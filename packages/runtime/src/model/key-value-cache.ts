import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';

type Tensor4D = tfCore.Tensor4D;

/**
 * The per-layer keys and values of the tokens seen so far, for incremental decoding.
 * Keys are stored after the rotary embedding and transposed, shape [batch, keyValueHeads, headSize,
 * length]; values as [batch, keyValueHeads, length, headSize].
 * Owns its tensors: call {@link KeyValueCache.dispose} when done.
 */
export class KeyValueCache {
  /** Number of sequences decoded together. */
  readonly batchSize: number;
  private readonly keys: (Tensor4D | undefined)[];
  private readonly values: (Tensor4D | undefined)[];
  private cachedLength = 0;

  /** Creates an empty cache for `layers` layers. Usually made by `model.createCache()`. */
  constructor(layers: number, batchSize: number) {
    this.batchSize = batchSize;
    this.keys = new Array<Tensor4D | undefined>(layers).fill(undefined);
    this.values = new Array<Tensor4D | undefined>(layers).fill(undefined);
  }

  /** The number of cached positions. */
  get length(): number {
    return this.cachedLength;
  }

  /**
   * Appends new keys ([batch, kvHeads, head, tokens]) and values ([batch, kvHeads, tokens, head])
   * of one layer and returns the full ones. The stored tensors are
   * kept out of the surrounding `tf.tidy`; the previous ones are disposed.
   */
  append(tf: TensorFlow, layer: number, key: Tensor4D, value: Tensor4D): [Tensor4D, Tensor4D] {
    const previousKey = this.keys[layer];
    const previousValue = this.values[layer];
    const nextKey = previousKey === undefined ? tf.clone(key) : (tf.concat([previousKey, key], 3) as Tensor4D);
    const nextValue = previousValue === undefined ? tf.clone(value) : (tf.concat([previousValue, value], 2) as Tensor4D);
    this.keys[layer] = tf.keep(nextKey);
    this.values[layer] = tf.keep(nextValue);
    previousKey?.dispose();
    previousValue?.dispose();
    return [nextKey, nextValue];
  }

  /** Moves the cached length forward after every layer appended `tokens` positions. */
  advance(tokens: number): void {
    this.cachedLength += tokens;
  }

  /** Releases every cached tensor and empties the cache. */
  dispose(): void {
    for (const tensor of [...this.keys, ...this.values]) tensor?.dispose();
    this.keys.fill(undefined);
    this.values.fill(undefined);
    this.cachedLength = 0;
  }
}
