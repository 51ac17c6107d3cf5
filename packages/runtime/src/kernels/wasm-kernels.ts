import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { KernelThreads, type ThreadedKernel } from './kernel-threads.js';
import { plainKernelModule, plainRelaxedKernelModule, sharedKernelModule, sharedRelaxedKernelModule } from './kernel-module-bytes.js';

/** The parts of the WebAssembly JS API used here (this package compiles without the DOM types). */
interface WebAssemblyMemory {
  readonly buffer: ArrayBufferLike;
}
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  validate(bytes: Uint8Array): boolean;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** The parts of tfjs-wasm's `BackendWasm` (and its Emscripten module) read here. */
interface WasmBackendParts {
  wasm?: {
    asm?: { memory?: WebAssemblyMemory };
    wasmMemory?: WebAssemblyMemory;
    _malloc?: (bytes: number) => number;
    _free?: (pointer: number) => void;
    /** The threaded build's bindings (threaded-wasm.ts): how many threads its pool runs. */
    tfjs?: { getThreadsCount?: () => number };
  };
  dataIdMap?: { get(dataId: object): { memoryOffset: number } | undefined };
  /** Adds a holder to a tensor's memory (tfjs-wasm counts them; the memory is freed at none). */
  incRef?: (dataId: object) => void;
  /** Drops a holder; frees the memory when it was the last. */
  disposeData?: (dataId: object) => boolean;
}

type Kernel = (...values: number[]) => void;

/** The per-variable constants of one AdamW step ({@link WasmKernels.adamW}). */
export interface AdamWConstants {
  /** What the gradient is multiplied by first (global-norm clipping). */
  gradientScale: number;
  /** The first moment's decay. */
  beta1: number;
  /** The second moment's decay. */
  beta2: number;
  /** What the value is multiplied by before the update: 1 - learning rate * weight decay. */
  keep: number;
  /** The learning rate over the first moment's bias correction. */
  stepSize: number;
  /** 1 / sqrt of the second moment's bias correction. */
  rootCorrection: number;
  /** Added to the denominator. */
  epsilon: number;
}

/**
 * codestack's own WebAssembly SIMD kernels (native/kernels.c), running on the memory of the
 * active tfjs-wasm backend: tensors are read in place at their offsets, and scratch space comes
 * from the backend's own allocator. Get one with {@link wasmKernelsFor}.
 */
export class WasmKernels {
  /**
   * Whether this is the relaxed-SIMD build (fused multiply-add), chosen where the engine validates
   * it: V8 ships relaxed SIMD in newer releases; Node 20 needs `--experimental-wasm-relaxed-simd`.
   */
  readonly relaxedSimd: boolean;
  /** Whether the memory is shared (tfjs-wasm's threaded build). */
  readonly shared: boolean;
  /** The threads a {@link WasmKernels.gemm} may use: the backend's thread count on the threaded build, else 1. */
  readonly threads: number;
  private readonly memory: WebAssemblyMemory;
  private readonly backend: Required<WasmBackendParts>;
  private readonly matVector: Kernel;
  private readonly decodeAttentionKernel: Kernel;
  private readonly causalForward: Kernel;
  private readonly causalBackward: Kernel;
  private readonly causalScratch: (keys: number, head: number, backward: number) => number;
  private readonly crossEntropyForwardKernel: Kernel;
  private readonly crossEntropyBackwardKernel: Kernel;
  private readonly columnSumsKernel: Kernel;
  private readonly rmsNormForwardKernel: Kernel;
  private readonly rmsNormBackwardKernel: Kernel;
  private readonly swiGluForwardKernel: Kernel;
  private readonly swiGluBackwardKernel: Kernel;
  private readonly adamWKernel: Kernel;
  private readonly sumSquaresKernel: (count: number, values: number) => number;
  private readonly rotaryKernel: Kernel;
  private readonly headsLayoutKernel: Kernel;
  private readonly packedBFloats: (k: number, n: number) => number;
  private readonly packBKernel: Kernel;
  private readonly gemmPackedKernel: Kernel;
  private scratchPointer = 0;
  private scratchBytes = 0;
  private floatView: Float32Array | undefined;
  private readonly module: object;
  private readonly exports: Record<string, unknown>;
  private helpers: KernelThreads | undefined;
  /** The outputs of queued matrix products not yet settled, by dataId: their tickets. */
  private readonly unsettled = new Map<object, number>();
  /** The tensors each queued product holds (its output and inputs), in ticket order; let go when settled. */
  private readonly held: { ticket: number; dataIds: object[] }[] = [];
  /** The queue of the native products that took the products {@link WasmKernels.held} holds for. */
  private productQueue: ProductQueue | undefined;
  /** The backend's own `dataIdMap.get`, once {@link WasmKernels.queueGemm} has put a check in front of it. */
  private unguardedGet: ((dataId: object) => { memoryOffset: number } | undefined) | undefined;
  /** The native matrix products {@link WasmKernels.gemm} hands its work to, when chosen for this backend (see {@link chooseWasmKernels}). */
  get nativeProducts(): NativeMatrixProducts | undefined {
    return nativeByBackend.get(this.backend);
  }

  /** @internal Use {@link wasmKernelsFor}. */
  constructor(memory: WebAssemblyMemory, backend: Required<WasmBackendParts>, module: object, exports: Record<string, unknown>, variant: { relaxedSimd: boolean; shared: boolean; threads: number }) {
    this.relaxedSimd = variant.relaxedSimd;
    this.shared = variant.shared;
    this.threads = variant.shared ? Math.max(1, variant.threads) : 1;
    this.module = module;
    this.exports = exports;
    this.memory = memory;
    this.backend = backend;
    this.matVector = exports.codestack_matvec as Kernel;
    this.decodeAttentionKernel = exports.codestack_decode_attention as Kernel;
    this.causalForward = exports.codestack_causal_attention_forward as Kernel;
    this.causalBackward = exports.codestack_causal_attention_backward as Kernel;
    this.causalScratch = exports.codestack_causal_attention_scratch as (keys: number, head: number, backward: number) => number;
    this.crossEntropyForwardKernel = exports.codestack_cross_entropy_forward as Kernel;
    this.crossEntropyBackwardKernel = exports.codestack_cross_entropy_backward as Kernel;
    this.columnSumsKernel = exports.codestack_column_sums as Kernel;
    this.rmsNormForwardKernel = exports.codestack_rms_norm_forward as Kernel;
    this.rmsNormBackwardKernel = exports.codestack_rms_norm_backward as Kernel;
    this.swiGluForwardKernel = exports.codestack_swiglu_forward as Kernel;
    this.swiGluBackwardKernel = exports.codestack_swiglu_backward as Kernel;
    this.adamWKernel = exports.codestack_adamw as Kernel;
    this.sumSquaresKernel = exports.codestack_sum_squares as (count: number, values: number) => number;
    this.rotaryKernel = exports.codestack_rotary as Kernel;
    this.headsLayoutKernel = exports.codestack_heads_layout as Kernel;
    this.packedBFloats = exports.codestack_packed_b_floats as (k: number, n: number) => number;
    this.packBKernel = exports.codestack_pack_b as Kernel;
    this.gemmPackedKernel = exports.codestack_gemm_packed as Kernel;
  }

  /** A float view of the whole memory (made anew when the memory has grown, which replaces its buffer). */
  floats(): Float32Array {
    if (this.floatView?.buffer !== this.memory.buffer) this.floatView = new Float32Array(this.memory.buffer);
    return this.floatView;
  }

  /** The byte offset of a float32 tensor's values in the memory. */
  offsetOf(tensor: Pick<tfCore.TensorInfo, 'dataId'>): number {
    const entry = this.backend.dataIdMap.get(tensor.dataId as object);
    if (entry === undefined) throw new Error('the tensor is not on this backend');
    return entry.memoryOffset;
  }

  /**
   * A scratch block of at least `floats` floats, kept between calls and grown when too small
   * (the backend's malloc may grow the memory, so take views after this). Returns its byte offset.
   */
  scratch(floats: number): number {
    const bytes = floats * 4;
    if (bytes > this.scratchBytes) {
      if (this.scratchPointer !== 0) this.backend.wasm._free?.(this.scratchPointer);
      this.scratchBytes = Math.max(bytes, 2 * this.scratchBytes);
      this.scratchPointer = (this.backend.wasm._malloc as (bytes: number) => number)(this.scratchBytes);
      if (this.scratchPointer === 0) {
        this.scratchBytes = 0;
        throw new Error(`cannot allocate ${bytes} bytes of scratch memory`);
      }
    }
    return this.scratchPointer;
  }

  /** The memory's current buffer (replaced when the memory grows). */
  get buffer(): ArrayBufferLike {
    return this.memory.buffer;
  }

  /** Allocates `floats` floats with the backend's malloc and returns the byte offset; throws when the memory is exhausted. */
  allocate(floats: number): number {
    const pointer = (this.backend.wasm._malloc as (bytes: number) => number)(floats * 4);
    if (pointer === 0) throw new Error(`cannot allocate ${floats * 4} bytes in the wasm memory`);
    return pointer;
  }

  /** Frees a block from {@link WasmKernels.allocate}. */
  release(pointer: number): void {
    (this.backend.wasm._free as (pointer: number) => void)(pointer);
  }

  /** A view of `floats` floats at byte offset `pointer` (valid until the memory grows). */
  view(pointer: number, floats: number): Float32Array {
    return new Float32Array(this.memory.buffer, pointer, floats);
  }

  /**
   * `y = x @ w (+ bias)` for x [rows, in], w [in, out], y [rows, out]; every argument a byte offset
   * (bias 0 for none). With native matrix products chosen, the addon runs it (decoding's few rows
   * read w in order, unpacked, on AVX-512 or AVX2: several times the WebAssembly kernel's rate).
   */
  matrixVector(rows: number, inputs: number, outputs: number, x: number, w: number, bias: number, y: number): void {
    const native = this.nativeProducts;
    if (native !== undefined) {
      const floats = this.floats();
      if (bias !== 0) for (let row = 0; row < rows; row++) floats.copyWithin(y / 4 + row * outputs, bias / 4, bias / 4 + outputs);
      native.multiplyMatrices(floats, nativeProduct(rows, outputs, inputs, x, inputs, 1, w, outputs, 1, y, outputs, bias !== 0, this.threads));
      return;
    }
    this.matVector(rows, inputs, outputs, x, w, bias, y);
  }

  /**
   * Attention of one new position per key/value head against `total` cached positions: query
   * [slices, groups, head] (scaled), keys [slices, head, capacity], values [slices, capacity,
   * head], scores scratch of `total` floats, out [slices, groups, head]; byte offsets.
   */
  decodeAttention(slices: number, groups: number, head: number, capacity: number, total: number, query: number, keys: number, values: number, scores: number, out: number): void {
    this.decodeAttentionKernel(slices, groups, head, capacity, total, query, keys, values, scores, out);
  }

  /**
   * Causal grouped-query attention, forward (see native/kernels.c): per key/value head, queries
   * [groups * tokens, head] (scaled), keys transposed [head, offset + tokens], values [offset +
   * tokens, head]; writes out (like the queries) and stats ([rows, 2]: softmax maximum and sum).
   * scratch: {@link WasmKernels.causalAttentionScratch} floats per thread ({@link WasmKernels.threads}
   * blocks: with helper threads the slices are shared between threads). Byte offsets.
   */
  causalAttentionForward(slices: number, groups: number, tokens: number, offset: number, head: number, query: number, keysTransposed: number, values: number, out: number, stats: number, scratch: number): void {
    const [rows, keys] = [groups * tokens * head, head * (offset + tokens)];
    const arrays: [number, number][] = [[query, rows], [keysTransposed, keys], [values, keys], [out, rows], [stats, groups * tokens * 2]];
    this.attendSlices('codestack_causal_attention_forward', this.causalForward, [slices, groups, tokens, offset, head], arrays, scratch, this.causalAttentionScratch(offset + tokens, head, false));
  }

  /** The scratch floats the forward or the backward kernel needs for `keys` keys of size `head`. */
  causalAttentionScratch(keys: number, head: number, backward: boolean): number {
    return this.causalScratch(keys, head, backward ? 1 : 0);
  }

  /**
   * The gradients of {@link WasmKernels.causalAttentionForward}'s three inputs; scratch:
   * {@link WasmKernels.causalAttentionScratch} floats per thread, as for the forward. Byte offsets.
   */
  causalAttentionBackward(slices: number, groups: number, tokens: number, offset: number, head: number, query: number, keysTransposed: number, values: number, out: number, stats: number, outGradient: number, queryGradient: number, keysGradient: number, valuesGradient: number, scratch: number): void {
    const [rows, keys] = [groups * tokens * head, head * (offset + tokens)];
    const arrays: [number, number][] = [
      [query, rows], [keysTransposed, keys], [values, keys], [out, rows], [stats, groups * tokens * 2],
      [outGradient, rows], [queryGradient, rows], [keysGradient, keys], [valuesGradient, keys],
    ];
    this.attendSlices('codestack_causal_attention_backward', this.causalBackward, [slices, groups, tokens, offset, head], arrays, scratch, this.causalAttentionScratch(offset + tokens, head, true));
  }

  /**
   * Runs a causal-attention kernel over every slice: on the calling thread, or, with helper
   * threads, in chunks of slices shared between threads, each array argument ([byte offset,
   * floats per slice]) moved to the chunk's first slice and the scratch to each thread's block.
   */
  private attendSlices(name: ThreadedKernel, kernel: Kernel, shape: [slices: number, groups: number, tokens: number, offset: number, head: number], arrays: [number, number][], scratch: number, scratchFloats: number): void {
    const [slices, ...rest] = shape;
    const work = { items: slices, multiple: 1, parallel: true, scratch: { argument: shape.length + arrays.length, strideBytes: scratchFloats * 4 } };
    this.split(name, kernel, work, (first, count) => [count, ...rest, ...arrays.map(([pointer, floats]) => pointer + first * floats * 4), scratch]);
  }

  /**
   * Mean cross-entropy of logits [rows, vocabulary] against int32 targets [rows] into loss (one
   * float), and each row's log-sum-exp into logSumExp [rows]; byte offsets. A target outside the
   * vocabulary contributes 0. The rows are split between threads; each row's loss goes to scratch
   * and they are added up here in double, in row order, so the loss has the same bits on any
   * number of threads.
   */
  crossEntropyForward(rows: number, vocabulary: number, logits: number, targets: number, loss: number, logSumExp: number): void {
    const losses = this.scratch(rows);
    this.split('codestack_cross_entropy_forward', this.crossEntropyForwardKernel, { items: rows, multiple: 1, parallel: rows * vocabulary >= parallelElementWork }, (first, count) => [
      first, count, vocabulary, logits, targets, losses, logSumExp,
    ]);
    const floats = this.floats();
    let total = 0;
    for (let row = 0; row < rows; row++) total += floats[losses / 4 + row] as number;
    floats[loss / 4] = total / rows;
  }

  /** The gradient of {@link WasmKernels.crossEntropyForward}'s loss times upstream (one float) with respect to the logits; byte offsets. Rows split between threads. */
  crossEntropyBackward(rows: number, vocabulary: number, logits: number, targets: number, logSumExp: number, upstream: number, gradient: number): void {
    this.split('codestack_cross_entropy_backward', this.crossEntropyBackwardKernel, { items: rows, multiple: 1, parallel: rows * vocabulary >= parallelElementWork }, (first, count) => [
      first, count, rows, vocabulary, logits, targets, logSumExp, upstream, gradient,
    ]);
  }

  /**
   * C [M, N] (row stride ldc) = (accumulate ? C : 0) + A · B, where A's element (m, k) is at
   * A[m * am + k * ak] and B's (k, n) at B[k * bk + n * bn] (floats; either may be read
   * transposed); A, B, C are byte offsets. With native matrix products chosen
   * ({@link chooseWasmKernels}) the addon computes it in place on {@link WasmKernels.threads}
   * threads of its own. Otherwise B is packed into scratch first, then the product runs on the
   * relaxed or plain build's 4 x 8 tile; on the threaded build, a large product's rows are split
   * between the calling thread and helper threads of codestack's own ({@link KernelThreads}).
   */
  gemm(m: number, n: number, k: number, a: number, am: number, ak: number, b: number, bk: number, bn: number, c: number, ldc: number, accumulate: boolean): void {
    const native = this.nativeProducts;
    if (native !== undefined) {
      // @codestack/native-kernels: the same product in place, on AVX-512 or AVX2 and FMA, with its own threads.
      native.multiplyMatrices(this.floats(), nativeProduct(m, n, k, a, am, ak, b, bk, bn, c, ldc, accumulate, this.threads));
      return;
    }
    const packedFloats = this.packedBFloats(k, n);
    const parallel = this.threads > 1 && m * n * k >= parallelGemmWork;
    const threads = parallel ? this.threads : 1;
    const packedB = this.scratch(packedFloats + threads * 4 * k);
    const packedA = packedB + packedFloats * 4;
    this.packBKernel(k, n, b, bk, bn, packedB);
    // Rows in runs of whole 4-row blocks, each thread packing A into its own block.
    this.split('codestack_gemm_packed', this.gemmPackedKernel, { items: m, multiple: 4, parallel, scratch: { argument: 10, strideBytes: 4 * k * 4 } }, (first, rows) => [
      rows, n, k, a + first * am * 4, am, ak, packedB, c + first * ldc * 4, ldc, accumulate ? 1 : 0, packedA,
    ]);
  }

  /**
   * {@link WasmKernels.gemm} queued on the native products' own thread, so that it runs while the
   * calling thread goes on; where it cannot be (no native products, one thread, or a memory that is
   * not shared), returns false and does nothing, for the caller to call {@link WasmKernels.gemm}.
   * `tensors` are the dataIds of C (`output`) and of the tensors A and B lie in (`inputs`): each is
   * held (its memory kept) until the product is settled. Any read of the output through the backend
   * (a kernel, `dataSync`, a dispose) first waits for the product, so that tfjs and the host see
   * only finished values.
   */
  queueGemm(m: number, n: number, k: number, a: number, am: number, ak: number, b: number, bk: number, bn: number, c: number, ldc: number, tensors: { output: object; inputs: readonly object[] }): boolean {
    const queue = queueOf(this.nativeProducts);
    const memory = this.floats();
    const backend = this.backend as WasmBackendParts;
    if (queue === undefined || this.threads < 2 || !(memory.buffer instanceof SharedArrayBuffer) || typeof backend.incRef !== 'function' || typeof backend.disposeData !== 'function') return false;
    // Products held are settled through the queue that took them (a later runtime may choose other products for this backend).
    if (queue !== this.productQueue) this.settleProducts();
    const ticket = queue.queueMatrixProduct(memory, nativeProduct(m, n, k, a, am, ak, b, bk, bn, c, ldc, false, 1));
    if (ticket === 0) return true;
    this.productQueue = queue;
    this.guardReads();
    const dataIds = [tensors.output, ...tensors.inputs];
    for (const dataId of dataIds) this.backend.incRef(dataId);
    this.held.push({ ticket, dataIds });
    this.unsettled.set(tensors.output, ticket);
    this.letGo(queue.matrixProductQueue().settled);
    return true;
  }

  /** Whether queued matrix products are still running (then kernels split between threads here pause them, to have the other core). */
  get productsQueued(): boolean {
    if (this.held.length === 0 || this.productQueue === undefined) return false;
    const { queued, settled } = this.productQueue.matrixProductQueue();
    return queued > settled;
  }

  /** Waits for every queued product up to `ticket` (all by default) and lets go of what they held. */
  settleProducts(ticket = Number.MAX_SAFE_INTEGER): void {
    if (this.held.length === 0 || this.productQueue === undefined) return;
    this.letGo(this.productQueue.settleMatrixProducts(ticket));
  }

  /** Lets go of the tensors held by products up to ticket `settled` (their outputs are readable again). */
  private letGo(settled: number): void {
    while (this.held.length > 0 && (this.held[0] as { ticket: number }).ticket <= settled) {
      const { dataIds } = this.held.shift() as { ticket: number; dataIds: object[] };
      this.unsettled.delete(dataIds[0] as object);
      // Each drops the hold taken in queueGemm; the last holder frees the memory.
      for (const dataId of dataIds) this.backend.disposeData(dataId);
    }
  }

  /**
   * Puts a check in front of the backend's `dataIdMap.get`, through which every tfjs-wasm kernel,
   * read and dispose finds a tensor's memory: for the output of an unsettled product it first
   * settles that product. Once per backend; {@link WasmKernels.dispose} takes it away.
   */
  private guardReads(): void {
    if (this.unguardedGet !== undefined) return;
    const map = this.backend.dataIdMap;
    const get = map.get.bind(map);
    this.unguardedGet = map.get;
    map.get = (dataId: object) => {
      if (this.unsettled.size > 0) {
        const ticket = this.unsettled.get(dataId);
        if (ticket !== undefined) this.settleProducts(ticket);
      }
      return get(dataId);
    };
  }

  /** The helper threads of our own over the shared memory, started on first use. */
  private startedHelpers(): KernelThreads {
    this.helpers ??= new KernelThreads(this.module, this.memory, this.threads - 1, this.exports);
    return this.helpers;
  }

  /** The threads {@link WasmKernels.gemm} splits a large product between now: 1, or 1 plus its helper threads that have started. */
  get gemmThreads(): number {
    return this.helpers?.readyThreads ?? 1;
  }

  /** Stops the helper threads of {@link WasmKernels.gemm}, if it started any (the backend is going away). */
  dispose(): void {
    this.settleProducts();
    if (this.unguardedGet !== undefined) this.backend.dataIdMap.get = this.unguardedGet;
    this.unguardedGet = undefined;
    this.helpers?.dispose();
    this.helpers = undefined;
  }

  /**
   * RMSNorm of x [rows, width] scaled by w [width] into out, and each row's factor
   * `1 / sqrt(mean(x^2) + epsilon)` into factors [rows]; byte offsets.
   */
  rmsNormForward(rows: number, width: number, x: number, w: number, epsilon: number, out: number, factors: number): void {
    this.split('codestack_rms_norm_forward', this.rmsNormForwardKernel, { items: rows, multiple: 1, parallel: rows * width >= parallelElementWork, floatArguments: [4] }, (first, count) => [
      count, width, x + first * width * 4, w, epsilon, out + first * width * 4, factors + first * 4,
    ]);
  }

  /** The gradients of {@link WasmKernels.rmsNormForward} for upstream dy: dx [rows, width] and dw [width]; byte offsets. */
  rmsNormBackward(rows: number, width: number, x: number, w: number, factors: number, dy: number, dx: number, dw: number): void {
    this.rmsNormBackwardKernel(rows, width, x, w, factors, dy, dx, dw);
  }

  /** out = silu(gate) * up over `count` floats; byte offsets. */
  swiGluForward(count: number, gate: number, up: number, out: number): void {
    this.split('codestack_swiglu_forward', this.swiGluForwardKernel, { items: count, multiple: 4, parallel: count >= parallelElementWork }, (first, items) => [items, gate + first * 4, up + first * 4, out + first * 4]);
  }

  /** The gradients of {@link WasmKernels.swiGluForward} for upstream dy: dgate and dup; byte offsets. */
  swiGluBackward(count: number, gate: number, up: number, dy: number, gateGradient: number, upGradient: number): void {
    this.split('codestack_swiglu_backward', this.swiGluBackwardKernel, { items: count, multiple: 4, parallel: count >= parallelElementWork }, (first, items) => {
      const shift = first * 4;
      return [items, gate + shift, up + shift, dy + shift, gateGradient + shift, upGradient + shift];
    });
  }

  /**
   * One AdamW step over `count` values (see native/kernels.c, codestack_adamw): reads value,
   * gradient and both moments, writes the next value and moments; byte offsets.
   */
  adamW(count: number, value: number, gradient: number, first: number, second: number, constants: AdamWConstants, nextValue: number, nextFirst: number, nextSecond: number): void {
    const { gradientScale, beta1, beta2, keep, stepSize, rootCorrection, epsilon } = constants;
    const floats = [gradientScale, beta1, beta2, keep, stepSize, rootCorrection, epsilon];
    this.split('codestack_adamw', this.adamWKernel, { items: count, multiple: 4, parallel: count >= parallelElementWork, floatArguments: [5, 6, 7, 8, 9, 10, 11] }, (start, items) => {
      const shift = start * 4;
      return [items, value + shift, gradient + shift, first + shift, second + shift, ...floats, nextValue + shift, nextFirst + shift, nextSecond + shift];
    });
  }

  /**
   * Rotary position embedding of a [rows, heads * head] projection (rows = batch * tokens), from
   * rows to `layout` (direction 1) or back (direction -1, the gradient); see native/kernels.c,
   * codestack_rotary. `cos` and `sin` are byte offsets of [tokens, head / 2] tables starting at
   * the pass's first position; `input` and `output` byte offsets of rows * heads * head floats.
   */
  rotary(shape: { rows: number; tokens: number; heads: number; head: number; layout: number; direction: 1 | -1; scale: number }, cos: number, sin: number, input: number, output: number): void {
    const { rows, tokens, heads, head, layout, direction, scale } = shape;
    this.split('codestack_rotary', this.rotaryKernel, { items: rows, multiple: 1, parallel: rows * heads * head >= parallelElementWork, floatArguments: [7] }, (first, count) => [
      first, count, tokens, heads, head, layout, direction, scale, cos, sin, input, output,
    ]);
  }

  /**
   * Moves a [rows, heads * head] matrix (rows = batch * tokens) to [batch, heads, tokens, head]
   * (direction 1) or back (direction -1); byte offsets (see native/kernels.c,
   * codestack_heads_layout).
   */
  headsLayout(shape: { rows: number; tokens: number; heads: number; head: number; direction: 1 | -1 }, input: number, output: number): void {
    const { rows, tokens, heads, head, direction } = shape;
    this.split('codestack_heads_layout', this.headsLayoutKernel, { items: rows, multiple: 1, parallel: rows * heads * head >= parallelElementWork }, (first, count) => [first, count, tokens, heads, head, direction, input, output]);
  }

  /** The sum of the squares of `count` floats at byte offset `values`, added up in double. */
  sumOfSquares(count: number, values: number): number {
    return this.sumSquaresKernel(count, values);
  }

  /**
   * Runs a kernel over `items` independent items (rows, slices, floats): in one call on the calling
   * thread, or, on the threaded build when the caller says the work repays a helper's wake-up
   * (`parallel`) and there are at least two runs' worth, in runs of a multiple of `multiple` items
   * shared between threads ({@link chunks}, {@link KernelThreads.run}: `scratch` and
   * `floatArguments` as there). `call(first, count)` gives the arguments for items first..first +
   * count. The one way every split kernel here is shared.
   */
  private split(
    name: ThreadedKernel,
    kernel: Kernel,
    work: { items: number; multiple: number; parallel: boolean; floatArguments?: readonly number[]; scratch?: { argument: number; strideBytes: number } },
    call: (first: number, count: number) => number[],
  ): void {
    const { items, multiple, parallel, floatArguments, scratch } = work;
    if (this.threads === 1 || !parallel || items < 2 * multiple) {
      kernel(...call(0, items));
      return;
    }
    const calls = chunks(items, this.threads, multiple).map(([first, count]) => call(first, count));
    // Queued matrix products wait while the helpers have the other core.
    const paused = this.productsQueued ? this.productQueue : undefined;
    paused?.pauseQueuedProducts(true);
    try {
      this.startedHelpers().run(name, calls, { ...(floatArguments === undefined ? {} : { floatArguments }), ...(scratch === undefined ? {} : { scratch }) });
    } finally {
      paused?.pauseQueuedProducts(false);
    }
  }

  /** dst [columns] = the sum of the rows of src [rows, columns]; byte offsets. */
  columnSums(rows: number, columns: number, source: number, target: number): void {
    this.columnSumsKernel(rows, columns, source, target);
  }
}

/**
 * `total` items (rows, slices) in runs for a {@link KernelThreads.run}, as [first, count] pairs,
 * largest first: each run a share 1 / (2 * threads) of what is left (guided scheduling), in
 * multiples of `multiple` items but the last, and at most 64 runs. The last runs are small, so a
 * thread that finishes early waits at most about one small run for the others, not a quarter of
 * its share as with equal runs.
 */
export function chunks(total: number, threads: number, multiple: number): [number, number][] {
  const units = Math.ceil(total / multiple);
  const smallest = Math.max(1, Math.ceil(units / 64));
  const runs: [number, number][] = [];
  for (let first = 0; first < units; ) {
    const size = runs.length === 63 ? units - first : Math.min(units - first, Math.max(smallest, Math.ceil((units - first) / (2 * threads))));
    runs.push([first * multiple, Math.min(size * multiple, total - first * multiple)]);
    first += size;
  }
  return runs;
}

/**
 * The multiply-adds (m * n * k) from which {@link WasmKernels.gemm} splits a product between
 * threads: about 0.1 ms of one thread's work, far above a helper's wake-up (tens of microseconds).
 */
const parallelGemmWork = 1 << 21;

/**
 * The floats from which {@link WasmKernels} splits an element-wise or row-wise kernel (SwiGLU,
 * RMSNorm, AdamW, the rotary embedding, the head layouts, cross-entropy) between threads: a few tenths of a
 * millisecond of one thread's work. These kernels are bound by memory, and a helper blocked in
 * `Atomics.wait` takes tens of microseconds to wake, so smaller ones run faster on the calling
 * thread alone: with 1 << 16 the 5M step's 56 AdamW calls took 13.7 ms on one thread and 17.5 on
 * two (kernel tables, medians of 4). Raised from 1 << 16 when the matrix products moved to
 * native code; A/B at two threads, 8 rounds: 1,933 → 2,042 tokens/s (medians), 5 of 8 pairs ahead.
 * Raised again to 1 << 19 once the products were queued: the 5M step's rotary embeddings, head
 * layouts and RMSNorms (1 << 18 floats each, 0.1–0.2 ms of one thread) took longer split than on
 * one thread (the helper's wake-up and join cost as much as its half of the work), and every split
 * pauses the queued products. In-process A/B at two threads, 10 alternating rounds of 4 steps, twice:
 * 190 → 180 and 199 → 188 ms a step (medians), 7 of 10 rounds ahead each time; 1 << 20 (SwiGLU
 * on one thread too) was level with 1 << 19 (190 against 191).
 */
export const parallelElementWork = 1 << 19;

const compiled = new Map<string, object>();
const declined = new WeakSet<object>();

/** A product as `@codestack/native-kernels` takes it (its `MatrixProduct`): sizes, float offsets and strides. */
export type NativeProduct = { rows: number; columns: number; depth: number; a: number; aRowStride: number; aDepthStride: number; b: number; bDepthStride: number; bColumnStride: number; c: number; cRowStride: number; accumulate: boolean; threads: number };

/**
 * What {@link WasmKernels.gemm} needs of `@codestack/native-kernels` (its `NativeKernels`), kept
 * structural so that this package's types never name that optional dependency.
 */
export interface NativeMatrixProducts {
  /** The vector instructions the products run on (`'avx512'` or `'avx2'`). */
  readonly instructionSet?: string;
  multiplyMatrices(
    array: Float32Array,
    product: NativeProduct,
  ): void;
  /** Queues a product on the addon's own thread; returns its ticket (0: nothing to do). */
  queueMatrixProduct?(
    array: Float32Array,
    product: NativeProduct,
  ): number;
  /** Returns when the queued products up to `ticket` are done; returns the highest ticket settled. */
  settleMatrixProducts?(ticket?: number): number;
  /** The last ticket handed out and the highest settled one. */
  matrixProductQueue?(): { readonly queued: number; readonly settled: number };
  /** Makes queued products wait (true) or go on (false). */
  pauseQueuedProducts?(paused: boolean): void;
}

/** Native products that can queue: every queue method present (an @codestack/native-kernels before 0.2 has none). */
type ProductQueue = NativeMatrixProducts & Required<Pick<NativeMatrixProducts, 'queueMatrixProduct' | 'settleMatrixProducts' | 'matrixProductQueue' | 'pauseQueuedProducts'>>;

function queueOf(native: NativeMatrixProducts | undefined): ProductQueue | undefined {
  return native?.queueMatrixProduct !== undefined && native.settleMatrixProducts !== undefined && native.matrixProductQueue !== undefined && native.pauseQueuedProducts !== undefined ? (native as ProductQueue) : undefined;
}

/** A {@link NativeMatrixProducts} product from {@link WasmKernels.gemm}'s arguments (byte offsets to float offsets). */
function nativeProduct(m: number, n: number, k: number, a: number, am: number, ak: number, b: number, bk: number, bn: number, c: number, ldc: number, accumulate: boolean, threads: number): NativeProduct {
  return { rows: m, columns: n, depth: k, a: a / 4, aRowStride: am, aDepthStride: ak, b: b / 4, bDepthStride: bk, bColumnStride: bn, c: c / 4, cRowStride: ldc, accumulate, threads };
}

const kernelsByBackend = new WeakMap<object, WasmKernels | null>();
const nativeByBackend = new WeakMap<object, NativeMatrixProducts>();

/**
 * Whether the active backend of `tf` runs codestack's own kernels where they apply (`enabled`,
 * the default) or tfjs-wasm's only (`false`, for comparison), and whether their matrix products
 * run on `native` (the loaded `@codestack/native-kernels`) or, without it, on the WebAssembly
 * kernels: what `createRuntime`'s `kernels` and `nativeKernels` options set. The choice belongs to
 * the backend instance.
 */
export function chooseWasmKernels(tf: TensorFlow, enabled: boolean, native?: NativeMatrixProducts): void {
  const backend = tf.backend() as object;
  if (enabled) declined.delete(backend);
  else declined.add(backend);
  if (native === undefined) nativeByBackend.delete(backend);
  else nativeByBackend.set(backend, native);
}

const validated = new Map<string, boolean>();

/** Whether this engine accepts the module (the relaxed-SIMD builds need an engine that ships relaxed SIMD). */
function validates(source: string): boolean {
  let valid = validated.get(source);
  if (valid === undefined) {
    valid = webAssembly.validate(Buffer.from(source, 'base64'));
    validated.set(source, valid);
  }
  return valid;
}

/**
 * Whether this engine runs WebAssembly relaxed SIMD as it is (Node 22 and later; Node 20 only with
 * `--experimental-wasm-relaxed-simd`), so that the kernels' fused-multiply-add build is chosen.
 */
export function engineHasRelaxedSimd(): boolean {
  return validates(plainRelaxedKernelModule);
}

function compile(source: string): object {
  let module = compiled.get(source);
  if (module === undefined) {
    module = new webAssembly.Module(Buffer.from(source, 'base64'));
    compiled.set(source, module);
  }
  return module;
}

/**
 * The kernels bound to the active backend when it is tfjs-wasm (its SIMD or threaded SIMD build)
 * and they can run there; `undefined` otherwise (the `cpu` and `tensorflow` backends, or a
 * build whose memory cannot be reached), in which case callers take their tensor path.
 */
export function wasmKernelsFor(tf: TensorFlow): WasmKernels | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  return wasmKernelsForBackend(tf.backend());
}

/** Stops what the kernels bound to `backendInstance` started (their helper threads); for when the backend is disposed. */
export function releaseWasmKernels(backendInstance: object): void {
  kernelsByBackend.get(backendInstance)?.dispose();
}

/** {@link wasmKernelsFor} for a given tfjs-wasm backend instance (inside a registered kernel). */
export function wasmKernelsForBackend(backendInstance: object): WasmKernels | undefined {
  const backend = backendInstance as WasmBackendParts;
  if (declined.has(backend)) return undefined;
  const known = kernelsByBackend.get(backend);
  if (known !== undefined) return known ?? undefined;
  let kernels: WasmKernels | null = null;
  const memory = backend.wasm?.asm?.memory ?? backend.wasm?.wasmMemory;
  if (memory !== undefined && backend.dataIdMap !== undefined && typeof backend.wasm?._malloc === 'function' && typeof backend.wasm._free === 'function') {
    const shared = typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
    const relaxed = shared ? sharedRelaxedKernelModule : plainRelaxedKernelModule;
    const relaxedSimd = validates(relaxed);
    try {
      const module = compile(relaxedSimd ? relaxed : shared ? sharedKernelModule : plainKernelModule);
      const instance = new webAssembly.Instance(module, { env: { memory } });
      const threads = shared ? (backend.wasm?.tfjs?.getThreadsCount?.() ?? 1) : 1;
      kernels = new WasmKernels(memory, backend as Required<WasmBackendParts>, module, instance.exports, { relaxedSimd, shared, threads });
    } catch {
      kernels = null;
    }
  }
  kernelsByBackend.set(backend, kernels);
  return kernels ?? undefined;
}
