import type * as tfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@codestack/core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { computesOnHost } from '../backend/host-compute.js';

type Tensor4D = tfCore.Tensor4D;

/** Options of a {@link KeyValueCache}. */
export interface KeyValueCacheOptions {
  /** The most positions the cache will hold (the model's `maximumContext`); storage grows up to it. Default: no limit. */
  maximumLength?: number;
}

/**
 * One layer's keys, [batch, keyValueHeads, headSize, capacity] (transposed, so that a prefix of
 * positions is a run of whole rows), and values, [batch, keyValueHeads, capacity, headSize] (see
 * {@link KeyValueCache.storage}).
 */
export interface KeyValueStorage {
  /** Keys after the rotary embedding. */
  keys: Float32Array;
  /** Values. */
  values: Float32Array;
}

/**
 * The per-layer keys and values of the tokens seen so far, for incremental decoding.
 *
 * Keys (after the rotary embedding) and values live in preallocated JavaScript arrays (see
 * {@link KeyValueStorage}) and are written in place, one position per decoded token: no tensor is concatenated or kept per token. The capacity grows by doubling (up to
 * `maximumLength`), so a decode of n tokens copies the cache O(log n) times rather than n times.
 * The fused decode step reads the arrays directly; the tensor path gets tensors built from them
 * ({@link KeyValueCache.append}). That is on the `wasm` and `cpu` backends; on the `tensorflow`
 * backends (tfjs-node, tfjs-node-gpu), where reading a tensor is a device-to-host transfer, the
 * cache keeps one key and one value tensor per layer instead and concatenates each new position
 * on the device (see {@link computesOnHost}). The first append chooses. Call
 * {@link KeyValueCache.dispose} when done.
 */
export class KeyValueCache {
  /** Number of sequences decoded together. */
  readonly batchSize: number;
  private readonly layers: (KeyValueStorage | undefined)[];
  /** The per-layer tensors of a cache on a device backend. */
  private readonly tensorLayers: ({ keys: Tensor4D; values: Tensor4D } | undefined)[];
  /** Arrays or tensors, chosen by the first append or storage request; undefined while empty. */
  private mode: 'arrays' | 'tensors' | undefined;
  private readonly maximumLength: number;
  private cachedLength = 0;
  private keyValueHeads = 0;
  private headSize = 0;
  private capacity = 0;

  /** Creates an empty cache for `layers` layers. Usually made by `model.createCache()`. */
  constructor(layers: number, batchSize: number, options: KeyValueCacheOptions = {}) {
    this.batchSize = batchSize;
    this.layers = new Array<KeyValueStorage | undefined>(layers).fill(undefined);
    this.tensorLayers = new Array<{ keys: Tensor4D; values: Tensor4D } | undefined>(layers).fill(undefined);
    this.maximumLength = options.maximumLength ?? Number.POSITIVE_INFINITY;
  }

  /** The number of cached positions. */
  get length(): number {
    return this.cachedLength;
  }

  /** The positions each layer's storage holds before it grows. */
  get allocatedLength(): number {
    return this.capacity;
  }

  /**
   * Appends new keys ([batch, kvHeads, head, tokens]) and values ([batch, kvHeads, tokens, head])
   * of one layer at positions `length ..` and returns the full ones (keys [batch, kvHeads, head,
   * length + tokens], values [batch, kvHeads, length + tokens, head]): the cached positions as new
   * tensors, owned by the surrounding `tf.tidy`, concatenated with `key` and `value` themselves (so
   * a differentiable pass keeps their gradient), or `key` and `value` when the cache was empty.
   */
  append(tf: TensorFlow, layer: number, key: Tensor4D, value: Tensor4D): [Tensor4D, Tensor4D] {
    const [batch, keyValueHeads, headSize, tokens] = key.shape;
    if (!computesOnHost(tf.getBackend())) return this.appendTensors(tf, layer, key, value);
    const storage = this.storage(layer, keyValueHeads, headSize, this.cachedLength + tokens);
    const capacity = this.capacity;
    const keyValues = key.dataSync() as Float32Array;
    const valueValues = value.dataSync() as Float32Array;
    const start = this.cachedLength;
    const slices = batch * keyValueHeads;
    const previousKeys = new Float32Array(slices * headSize * start);
    const previousValues = new Float32Array(slices * start * headSize);
    for (let slice = 0; slice < slices; slice++) {
      for (let index = 0; index < headSize; index++) {
        const row = (slice * headSize + index) * capacity;
        previousKeys.set(storage.keys.subarray(row, row + start), (slice * headSize + index) * start);
        storage.keys.set(keyValues.subarray((slice * headSize + index) * tokens, (slice * headSize + index + 1) * tokens), row + start);
      }
      previousValues.set(storage.values.subarray(slice * capacity * headSize, (slice * capacity + start) * headSize), slice * start * headSize);
      storage.values.set(valueValues.subarray(slice * tokens * headSize, (slice + 1) * tokens * headSize), (slice * capacity + start) * headSize);
    }
    if (start === 0) return [key, value];
    // The new positions join as the tensors they came in as, so a differentiable pass keeps their gradient.
    return [
      tf.concat([tf.tensor4d(previousKeys, [batch, keyValueHeads, headSize, start]), key], 3) as Tensor4D,
      tf.concat([tf.tensor4d(previousValues, [batch, keyValueHeads, start, headSize]), value], 2) as Tensor4D,
    ];
  }

  /**
   * One layer's key and value arrays, [batch, keyValueHeads, {@link KeyValueCache.allocatedLength},
   * headSize], with room for at least `length` positions (grown if needed). For the fused decode step,
   * which writes position `length` of every sequence and head in place.
   */
  storage(layer: number, keyValueHeads: number, headSize: number, length: number): KeyValueStorage {
    this.choose('arrays');
    if (length > this.maximumLength) throw new InvalidArgumentError({ argument: 'cache', message: `${length} positions exceed the cache's ${this.maximumLength}` });
    if (this.capacity === 0) {
      this.keyValueHeads = keyValueHeads;
      this.headSize = headSize;
    } else if (keyValueHeads !== this.keyValueHeads || headSize !== this.headSize) {
      throw new InvalidArgumentError({ argument: 'cache', message: `the cache holds ${this.keyValueHeads} heads of ${this.headSize}, got ${keyValueHeads} of ${headSize}` });
    }
    if (length > this.capacity) this.grow(Math.min(this.maximumLength, Math.max(length, 2 * this.capacity, 128)));
    let storage = this.layers[layer];
    if (storage === undefined) {
      const size = this.batchSize * keyValueHeads * this.capacity * headSize;
      storage = { keys: new Float32Array(size), values: new Float32Array(size) };
      this.layers[layer] = storage;
    }
    return storage;
  }

  /** Moves the cached length forward after every layer appended `tokens` positions. */
  advance(tokens: number): void {
    this.cachedLength += tokens;
  }

  /** Releases the storage and empties the cache. */
  dispose(): void {
    for (const tensors of this.tensorLayers) {
      tensors?.keys.dispose();
      tensors?.values.dispose();
    }
    this.tensorLayers.fill(undefined);
    this.layers.fill(undefined);
    this.cachedLength = 0;
    this.capacity = 0;
    this.mode = undefined;
  }

  /** Fixes the storage kind on first use; a cache cannot switch between arrays and tensors. */
  private choose(mode: 'arrays' | 'tensors'): void {
    if (this.mode === undefined) this.mode = mode;
    else if (this.mode !== mode) {
      throw new InvalidArgumentError({ argument: 'cache', message: `the cache holds ${this.mode} (made on another backend); use a new cache after switching backends` });
    }
  }

  /**
   * {@link KeyValueCache.append} on a device backend: the layer's keys and values stay tensors,
   * kept out of the surrounding `tf.tidy`, concatenated with the new ones (the previous ones are
   * released), so nothing is read back to the host.
   */
  private appendTensors(tf: TensorFlow, layer: number, key: Tensor4D, value: Tensor4D): [Tensor4D, Tensor4D] {
    this.choose('tensors');
    const length = this.cachedLength + key.shape[3];
    if (length > this.maximumLength) throw new InvalidArgumentError({ argument: 'cache', message: `${length} positions exceed the cache's ${this.maximumLength}` });
    const previous = this.tensorLayers[layer];
    const keys = previous === undefined ? tf.clone(key) : (tf.concat([previous.keys, key], 3) as Tensor4D);
    const values = previous === undefined ? tf.clone(value) : (tf.concat([previous.values, value], 2) as Tensor4D);
    this.tensorLayers[layer] = { keys: tf.keep(keys), values: tf.keep(values) };
    previous?.keys.dispose();
    previous?.values.dispose();
    return [keys, values];
  }

  private grow(capacity: number): void {
    const slices = this.batchSize * this.keyValueHeads;
    const head = this.headSize;
    const previous = this.capacity;
    const length = this.cachedLength;
    for (let layer = 0; layer < this.layers.length; layer++) {
      const storage = this.layers[layer];
      if (storage === undefined) continue;
      const keys = new Float32Array(slices * head * capacity);
      const values = new Float32Array(slices * capacity * head);
      for (let slice = 0; slice < slices; slice++) {
        for (let index = 0; index < head; index++) {
          const row = slice * head + index;
          keys.set(storage.keys.subarray(row * previous, row * previous + length), row * capacity);
        }
        values.set(storage.values.subarray(slice * previous * head, (slice * previous + length) * head), slice * capacity * head);
      }
      this.layers[layer] = { keys, values };
    }
    this.capacity = capacity;
  }
}
