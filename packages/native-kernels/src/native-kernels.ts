import { createRequire } from 'node:module';
import { InvalidArgumentError } from '@codestack/core';

/**
 * One matrix product computed in place in a Float32Array:
 * `C [rows x columns] = (accumulate ? C : 0) + A · B`. A's element (m, k) is at
 * `array[a + m * aRowStride + k * aDepthStride]`, B's (k, n) at
 * `array[b + k * bDepthStride + n * bColumnStride]` and C's (m, n) at `array[c + m * cRowStride + n]`,
 * so A and B may be read transposed (a stride of 1 along the other axis). Offsets and strides
 * count floats, not bytes. C must not overlap A or B.
 */
export interface MatrixProduct {
  /** Rows of A and C (M). */
  readonly rows: number;
  /** Columns of B and C (N). */
  readonly columns: number;
  /** Columns of A and rows of B (K), the length of each sum. */
  readonly depth: number;
  /** Where A starts. */
  readonly a: number;
  /** Floats from one row of A to the next. */
  readonly aRowStride: number;
  /** Floats from one column of A to the next. */
  readonly aDepthStride: number;
  /** Where B starts. */
  readonly b: number;
  /** Floats from one row of B to the next. */
  readonly bDepthStride: number;
  /** Floats from one column of B to the next. */
  readonly bColumnStride: number;
  /** Where C starts. */
  readonly c: number;
  /** Floats from one row of C to the next (at least `columns`). */
  readonly cRowStride: number;
  /** Add the product to C instead of overwriting it. */
  readonly accumulate?: boolean;
  /**
   * Threads to split the rows between: the calling thread and up to `threads - 1` of the addon's
   * own (started on first use, one pool per JavaScript thread, blocked while idle). Default 1.
   * Products under about a million multiply-adds stay on the calling thread.
   */
  readonly threads?: number;
}

/** The vector instructions {@link NativeKernels.multiplyMatrices} runs on. */
export type InstructionSet = 'avx512' | 'avx2';

/** Options of {@link loadNativeKernels}. */
export interface NativeKernelsOptions {
  /**
   * Run the AVX-512 tile where this CPU has AVX-512 (default `true`); `false` keeps to AVX2 and
   * FMA, as does `CODESTACK_NATIVE_KERNELS=avx2`. The results are the same bit for bit either way.
   */
  readonly avx512?: boolean;
}

/** The native kernels, loaded: see {@link loadNativeKernels}. */
export interface NativeKernels {
  /**
   * What {@link NativeKernels.multiplyMatrices} runs on: `'avx512'` (a 12 x 16 tile of 16-lane
   * accumulators) or `'avx2'` (a 6 x 16 tile of 8-lane ones, with FMA).
   */
  readonly instructionSet: InstructionSet;
  /**
   * Computes `product` in place in `array` on this CPU's vector units ({@link NativeKernels.instructionSet}),
   * a register tile over packed operands. Each element's sum is one chain of fused multiply-adds
   * over k in the same order whatever `threads` or the instruction set is, so the result depends on
   * neither. Every index range is checked against `array` first: a product that does not fit
   * throws {@link InvalidArgumentError}, whose `argument` names the offending field, and writes
   * nothing.
   */
  multiplyMatrices(array: Float32Array, product: MatrixProduct): void;
  /**
   * Checks `product` as {@link NativeKernels.multiplyMatrices} does, then queues it and returns
   * its ticket (1, 2, ... per JavaScript thread; 0 for a product with nothing to multiply, done at
   * once). Queued products run in order on one thread of the addon's own (whatever
   * `product.threads` says) while the caller goes on; the results are the same bits as
   * {@link NativeKernels.multiplyMatrices} gives. Work the caller shares between threads comes
   * first: while a product is split between threads (or the caller pauses the queue,
   * {@link NativeKernels.pauseQueuedProducts}), queued ones wait between panels.
   *
   * `array` must be over a SharedArrayBuffer (whose memory never moves), or it throws
   * {@link InvalidArgumentError}; until the ticket is settled ({@link NativeKernels.settleMatrixProducts})
   * the caller must not change A or B nor read or write C. The wrapper keeps `array` alive until then.
   */
  queueMatrixProduct(array: Float32Array, product: MatrixProduct): number;
  /**
   * Returns when every queued product up to `ticket` (default: every one queued) is done, making
   * queued ones on the calling thread meanwhile rather than only waiting. Queued products run while
   * it settles even if the queue is paused; the pause stays. Returns the highest ticket settled
   * (every product up to it is done).
   */
  settleMatrixProducts(ticket?: number): number;
  /**
   * `true` makes queued products wait (between panels of 12 or 6 rows) until called with `false`:
   * for a caller about to share work between threads of its own, so that the other core goes to
   * that work first. Products split between the addon's threads hold the queue the same way while
   * they run, without ending this pause.
   */
  pauseQueuedProducts(paused: boolean): void;
  /** The queue now: the last ticket handed out (`queued`) and the highest settled one (`settled`); equal when none is pending. */
  matrixProductQueue(): { readonly queued: number; readonly settled: number };
}

/** What {@link loadNativeKernels} found: the kernels, or why there are none here. */
export type NativeKernelsLoad = { readonly available: true; readonly kernels: NativeKernels } | { readonly available: false; readonly reason: string };

interface Addon {
  features(): { avx2Fma: boolean; avx512: boolean };
  /** Returns the rows per panel of the tile that ran (12 on AVX-512, 6 on AVX2), or undefined where there was nothing to multiply. */
  gemm(array: Float32Array, m: number, n: number, k: number, a: number, am: number, ak: number, b: number, bk: number, bn: number, c: number, ldc: number, accumulate: boolean, threads: number, avx512: boolean): number | undefined;
  /** gemm's arguments; queues the product and returns its ticket (0: nothing to multiply). */
  gemmQueued(array: Float32Array, m: number, n: number, k: number, a: number, am: number, ak: number, b: number, bk: number, bn: number, c: number, ldc: number, accumulate: boolean, threads: number, avx512: boolean): number;
  /** Settles every queued product up to `ticket`; returns the highest ticket settled. */
  settle(ticket: number): number;
  queueState(): { queued: number; settled: number };
  pauseQueue(paused: boolean): void;
}

/** The addon's file, relative to this module (the same from `src/` and `dist/`). */
const addonPath = '../build/Release/codestack_native_kernels.node';

/** The kernels on AVX2 and, where the CPU has it, on AVX-512; or why there are none. */
type AddonLoad = { readonly avx2: NativeKernels; readonly avx512: NativeKernels | undefined } | { readonly reason: string };

/** The addon's kernels, or why there are none, once per JavaScript thread. */
let addonLoad: AddonLoad | undefined;

/** The arrays of unsettled queued products, by ticket in order: kept alive until their ticket is settled. */
const queuedArrays: { ticket: number; array: Float32Array }[] = [];

function forgetSettled(settled: number): void {
  let done = 0;
  while (done < queuedArrays.length && (queuedArrays[done] as { ticket: number }).ticket <= settled) done++;
  if (done > 0) queuedArrays.splice(0, done);
}

function kernelsOn(addon: Addon, instructionSet: InstructionSet): NativeKernels {
  const wide = instructionSet === 'avx512';
  return {
    instructionSet,
    multiplyMatrices: (array, product) => void callAddon(() => addon.gemm(array, ...productArguments(product), wide)),
    queueMatrixProduct: (array, product) => {
      if (!(array instanceof Float32Array) || !(array.buffer instanceof SharedArrayBuffer)) {
        throw new InvalidArgumentError({ argument: 'array', message: 'must be a Float32Array over a SharedArrayBuffer: a queued product reads and writes it after the call returns' });
      }
      const ticket = callAddon(() => addon.gemmQueued(array, ...productArguments(product), wide));
      if (ticket > 0) queuedArrays.push({ ticket, array });
      forgetSettled(addon.queueState().settled);
      return ticket;
    },
    settleMatrixProducts: (ticket = Number.MAX_SAFE_INTEGER) => {
      if (typeof ticket !== 'number' || !(ticket >= 0)) throw new InvalidArgumentError({ argument: 'ticket', message: 'must be a ticket (a number from 0)' });
      const settled = addon.settle(ticket);
      forgetSettled(settled);
      return settled;
    },
    pauseQueuedProducts: (paused) => {
      if (typeof paused !== 'boolean') throw new InvalidArgumentError({ argument: 'paused', message: 'must be a boolean' });
      addon.pauseQueue(paused);
    },
    matrixProductQueue: () => addon.queueState(),
  };
}

function loadAddon(): AddonLoad {
  if (addonLoad !== undefined) return addonLoad;
  try {
    const addon = createRequire(import.meta.url)(addonPath) as Addon;
    const features = addon.features();
    addonLoad = features.avx2Fma ? { avx2: kernelsOn(addon, 'avx2'), avx512: features.avx512 ? kernelsOn(addon, 'avx512') : undefined } : { reason: 'this CPU has no AVX2 and FMA' };
  } catch (error) {
    addonLoad = { reason: `the addon was not built (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); run npm rebuild @codestack/native-kernels with a C compiler present` };
  }
  return addonLoad;
}

/**
 * Loads the addon that `npm install` built with node-gyp, once per JavaScript thread. It is
 * `available: false`, with the reason, where the addon was not built (no compiler, scripts
 * skipped), on a CPU other than x86-64 with AVX2 and FMA, or when `CODESTACK_NATIVE_KERNELS=0`
 * is set; callers then keep their own kernels. The kernels run AVX-512 where the CPU has it,
 * unless `options.avx512` is false or `CODESTACK_NATIVE_KERNELS=avx2` is set. Throws only
 * {@link InvalidArgumentError}, for an `avx512` option that is not a boolean.
 */
export function loadNativeKernels(options: NativeKernelsOptions = {}): NativeKernelsLoad {
  if (options.avx512 !== undefined && typeof options.avx512 !== 'boolean') throw new InvalidArgumentError({ argument: 'avx512', message: 'must be a boolean' });
  const setting = process.env.CODESTACK_NATIVE_KERNELS;
  if (setting === '0') return { available: false, reason: 'CODESTACK_NATIVE_KERNELS=0 is set' };
  const load = loadAddon();
  if ('reason' in load) return { available: false, reason: load.reason };
  const wide = options.avx512 !== false && setting !== 'avx2' ? load.avx512 : undefined;
  return { available: true, kernels: wide ?? load.avx2 };
}

/** gemm's arguments after the array, up to `avx512`, from a product (defaults filled in). */
function productArguments(product: MatrixProduct): [number, number, number, number, number, number, number, number, number, number, number, boolean, number] {
  const { rows, columns, depth, a, aRowStride, aDepthStride, b, bDepthStride, bColumnStride, c, cRowStride, accumulate = false, threads = 1 } = product;
  return [rows, columns, depth, a, aRowStride, aDepthStride, b, bDepthStride, bColumnStride, c, cRowStride, accumulate, threads];
}

function callAddon<Result>(call: () => Result): Result {
  try {
    return call();
  } catch (error) {
    // The addon checks every argument (it must: it is also reachable without this wrapper) and
    // names the one it refuses.
    const argument = (error as { argument?: unknown }).argument;
    throw new InvalidArgumentError({ argument: typeof argument === 'string' ? argument : 'product', message: error instanceof Error ? error.message : String(error), cause: error });
  }
}
