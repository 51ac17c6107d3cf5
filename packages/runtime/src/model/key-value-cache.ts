import type * as tfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@codestack/core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { computesOnHost } from '../backend/host-compute.js';
import { wasmKernelsFor, type WasmKernels } from '../kernels/wasm-kernels.js';

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
 * Copies `length` positions of every key/value head ("slice") from `from` (holding `fromCapacity`
 * positions per slice, starting at `fromStart`) into `to` (`toCapacity` per slice, at `toStart`),
 * in the {@link KeyValueStorage} layouts: keys [slices, head, capacity], values [slices, capacity, head].
 */
export function copyCachePositions(from: KeyValueStorage, fromCapacity: number, fromStart: number, to: KeyValueStorage, toCapacity: number, toStart: number, length: number, slices: number, head: number): void {
  for (let slice = 0; slice < slices; slice++) {
    for (let index = 0; index < head; index++) {
      const row = slice * head + index;
      to.keys.set(from.keys.subarray(row * fromCapacity + fromStart, row * fromCapacity + fromStart + length), row * toCapacity + toStart);
    }
    to.values.set(from.values.subarray((slice * fromCapacity + fromStart) * head, (slice * fromCapacity + fromStart + length) * head), (slice * toCapacity + toStart) * head);
  }
}

/** The blocks of a cache kept in the wasm backend's memory (byte offsets), and who frees them. */
interface HeapBlocks {
  kernels: WasmKernels;
  /** Per layer, the keys' and values' blocks. */
  layers: ({ keys: number; values: number } | undefined)[];
}

/** Frees the blocks of a cache that was dropped without {@link KeyValueCache.dispose}. */
const heapReclaimer = new FinalizationRegistry<HeapBlocks>((blocks) => releaseBlocks(blocks));

function releaseBlocks(blocks: HeapBlocks): void {
  for (const layer of blocks.layers) {
    if (layer === undefined) continue;
    blocks.kernels.release(layer.keys);
    blocks.kernels.release(layer.values);
  }
  blocks.layers.fill(undefined);
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
 * on the device (see {@link computesOnHost}). The first append chooses. On the `wasm` backend
 * with codestack's own kernels the arrays are views of blocks of the backend's own memory, so
 * that the decode step's attention kernel reads them in place (they are made anew on each
 * {@link KeyValueCache.storage} call, since a growing memory invalidates earlier views); the
 * blocks are freed by {@link KeyValueCache.dispose}, or when the cache is garbage-collected.
 * Call {@link KeyValueCache.dispose} when done.
 */
export class KeyValueCache {
  /** Number of sequences decoded together. */
  readonly batchSize: number;
  private readonly layers: (KeyValueStorage | undefined)[];
  /** Set when the arrays live in the wasm backend's memory (chosen by the first storage request). */
  private heap: HeapBlocks | undefined;
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
    const storage = this.storage(layer, keyValueHeads, headSize, this.cachedLength + tokens, tf);
    const capacity = this.capacity;
    const keyValues = key.dataSync() as Float32Array;
    const valueValues = value.dataSync() as Float32Array;
    const start = this.cachedLength;
    const slices = batch * keyValueHeads;
    const previous = { keys: new Float32Array(slices * headSize * start), values: new Float32Array(slices * start * headSize) };
    copyCachePositions(storage, capacity, 0, previous, start, 0, start, slices, headSize);
    copyCachePositions({ keys: keyValues, values: valueValues }, tokens, 0, storage, capacity, start, tokens, slices, headSize);
    if (start === 0) return [key, value];
    // The new positions join as the tensors they came in as, so a differentiable pass keeps their gradient.
    return [
      tf.concat([tf.tensor4d(previous.keys, [batch, keyValueHeads, headSize, start]), key], 3) as Tensor4D,
      tf.concat([tf.tensor4d(previous.values, [batch, keyValueHeads, start, headSize]), value], 2) as Tensor4D,
    ];
  }

  /**
   * One layer's key and value arrays, [batch, keyValueHeads, {@link KeyValueCache.allocatedLength},
   * headSize], with room for at least `length` positions (grown if needed). For the fused decode step,
   * which writes position `length` of every sequence and head in place. With `tf` on the `wasm`
   * backend and codestack's kernels, the first request puts the arrays in the backend's memory;
   * then take the arrays again after anything that may allocate there (a new tensor), as a
   * growing memory detaches earlier views.
   */
  storage(layer: number, keyValueHeads: number, headSize: number, length: number, tf?: TensorFlow): KeyValueStorage {
    this.choose('arrays');
    if (length > this.maximumLength) throw new InvalidArgumentError({ argument: 'cache', message: `${length} positions exceed the cache's ${this.maximumLength}` });
    if (this.capacity === 0) {
      this.keyValueHeads = keyValueHeads;
      this.headSize = headSize;
      const kernels = tf === undefined ? undefined : wasmKernelsFor(tf);
      if (this.heap === undefined && kernels !== undefined) {
        this.heap = { kernels, layers: new Array<{ keys: number; values: number } | undefined>(this.layers.length).fill(undefined) };
        heapReclaimer.register(this, this.heap, this);
      }
    } else if (keyValueHeads !== this.keyValueHeads || headSize !== this.headSize) {
      throw new InvalidArgumentError({ argument: 'cache', message: `the cache holds ${this.keyValueHeads} heads of ${this.headSize}, got ${keyValueHeads} of ${headSize}` });
    }
    if (length > this.capacity) this.grow(Math.min(this.maximumLength, Math.max(length, 2 * this.capacity, 128)));
    const size = this.batchSize * keyValueHeads * this.capacity * headSize;
    const heap = this.heap;
    if (heap !== undefined) {
      let blocks = heap.layers[layer];
      if (blocks === undefined) {
        blocks = this.allocateBlocks(heap, size);
        if (blocks === undefined) return this.storage(layer, keyValueHeads, headSize, length);
        heap.layers[layer] = blocks;
      }
      return { keys: heap.kernels.view(blocks.keys, size), values: heap.kernels.view(blocks.values, size) };
    }
    let storage = this.layers[layer];
    if (storage === undefined) {
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
    if (this.heap !== undefined) {
      heapReclaimer.unregister(this);
      releaseBlocks(this.heap);
      this.heap = undefined;
    }
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

  /**
   * Two zeroed blocks of `size` floats in the wasm memory, or undefined when it is exhausted: then
   * the cache moves to JavaScript arrays (its content copied) and carries on there.
   */
  private allocateBlocks(heap: HeapBlocks, size: number): { keys: number; values: number } | undefined {
    let keys = 0;
    try {
      keys = heap.kernels.allocate(size);
      const values = heap.kernels.allocate(size);
      heap.kernels.view(keys, size).fill(0);
      heap.kernels.view(values, size).fill(0);
      return { keys, values };
    } catch {
      if (keys !== 0) heap.kernels.release(keys);
      this.leaveHeap();
      return undefined;
    }
  }

  /** Copies the cache out of the wasm memory into JavaScript arrays and frees its blocks. */
  private leaveHeap(): void {
    const heap = this.heap;
    if (heap === undefined) return;
    const size = this.batchSize * this.keyValueHeads * this.capacity * this.headSize;
    heap.layers.forEach((blocks, layer) => {
      if (blocks !== undefined) this.layers[layer] = { keys: heap.kernels.view(blocks.keys, size).slice(), values: heap.kernels.view(blocks.values, size).slice() };
    });
    heapReclaimer.unregister(this);
    releaseBlocks(heap);
    this.heap = undefined;
  }

  private grow(capacity: number): void {
    const slices = this.batchSize * this.keyValueHeads;
    const head = this.headSize;
    const previous = this.capacity;
    const length = this.cachedLength;
    const copy = (from: KeyValueStorage, to: KeyValueStorage): void => copyCachePositions(from, previous, 0, to, capacity, 0, length, slices, head);
    const heap = this.heap;
    if (heap !== undefined) {
      const size = slices * head * capacity;
      const grown: ({ keys: number; values: number } | undefined)[] = [];
      for (const blocks of heap.layers) {
        const allocated = blocks === undefined ? undefined : this.allocateBlocks(heap, size);
        if (blocks !== undefined && allocated === undefined) {
          // The memory is exhausted: the cache is now in JavaScript arrays (leaveHeap); grow those.
          releaseBlocks({ kernels: heap.kernels, layers: grown });
          this.grow(capacity);
          return;
        }
        grown.push(allocated);
      }
      // Views only now: the allocations above may have grown the memory.
      const previousSize = slices * head * previous;
      heap.layers.forEach((blocks, layer) => {
        const target = grown[layer];
        if (blocks === undefined || target === undefined) return;
        copy(
          { keys: heap.kernels.view(blocks.keys, previousSize), values: heap.kernels.view(blocks.values, previousSize) },
          { keys: heap.kernels.view(target.keys, size), values: heap.kernels.view(target.values, size) },
        );
        heap.kernels.release(blocks.keys);
        heap.kernels.release(blocks.values);
        heap.layers[layer] = target;
      });
      this.capacity = capacity;
      return;
    }
    for (let layer = 0; layer < this.layers.length; layer++) {
      const storage = this.layers[layer];
      if (storage === undefined) continue;
      const grownStorage = { keys: new Float32Array(slices * head * capacity), values: new Float32Array(slices * capacity * head) };
      copy(storage, grownStorage);
      this.layers[layer] = grownStorage;
    }
    this.capacity = capacity;
  }
}
