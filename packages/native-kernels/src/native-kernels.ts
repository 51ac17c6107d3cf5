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

/** The native kernels, loaded: see {@link loadNativeKernels}. */
export interface NativeKernels {
  /**
   * Computes `product` in place in `array` on this CPU's AVX2 and FMA units (a 6 x 16 register
   * tile over packed operands). Each element's sum runs over k in the same order whatever
   * `threads` is, so the result does not depend on it. Every index range is checked against
   * `array` first: a product that does not fit throws {@link InvalidArgumentError}, whose `argument`
   * names the offending field, and writes nothing.
   */
  multiplyMatrices(array: Float32Array, product: MatrixProduct): void;
}

/** What {@link loadNativeKernels} found: the kernels, or why there are none here. */
export type NativeKernelsLoad = { readonly available: true; readonly kernels: NativeKernels } | { readonly available: false; readonly reason: string };

interface Addon {
  features(): { avx2Fma: boolean };
  gemm(array: Float32Array, m: number, n: number, k: number, a: number, am: number, ak: number, b: number, bk: number, bn: number, c: number, ldc: number, accumulate: boolean, threads: number): void;
}

/** The addon's file, relative to this module (the same from `src/` and `dist/`). */
const addonPath = '../build/Release/codestack_native_kernels.node';

let loaded: NativeKernelsLoad | undefined;

/**
 * Loads the addon that `npm install` built with node-gyp, once per JavaScript thread. It is
 * `available: false`, with the reason, where the addon was not built (no compiler, scripts
 * skipped), on a CPU other than x86-64 with AVX2 and FMA, or when `CODESTACK_NATIVE_KERNELS=0`
 * is set; callers then keep their own kernels. Never throws.
 */
export function loadNativeKernels(): NativeKernelsLoad {
  if (process.env.CODESTACK_NATIVE_KERNELS === '0') return { available: false, reason: 'CODESTACK_NATIVE_KERNELS=0 is set' };
  if (loaded !== undefined) return loaded;
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(addonPath) as Addon;
  } catch (error) {
    loaded = { available: false, reason: `the addon was not built (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); run npm rebuild @codestack/native-kernels with a C compiler present` };
    return loaded;
  }
  if (!addon.features().avx2Fma) {
    loaded = { available: false, reason: 'this CPU has no AVX2 and FMA' };
    return loaded;
  }
  loaded = { available: true, kernels: { multiplyMatrices: (array, product) => multiplyMatrices(addon, array, product) } };
  return loaded;
}

function multiplyMatrices(addon: Addon, array: Float32Array, product: MatrixProduct): void {
  const { rows, columns, depth, a, aRowStride, aDepthStride, b, bDepthStride, bColumnStride, c, cRowStride, accumulate = false, threads = 1 } = product;
  try {
    addon.gemm(array, rows, columns, depth, a, aRowStride, aDepthStride, b, bDepthStride, bColumnStride, c, cRowStride, accumulate, threads);
  } catch (error) {
    // The addon checks every argument (it must: it is also reachable without this wrapper) and
    // names the one it refuses.
    const argument = (error as { argument?: unknown }).argument;
    throw new InvalidArgumentError({ argument: typeof argument === 'string' ? argument : 'product', message: error instanceof Error ? error.message : String(error), cause: error });
  }
}
