import type { WasmKernels } from '../kernels/wasm-kernels.js';

/** The largest absolute difference between two arrays, entry by entry (over `left`'s length). */
export function maximumDifference(left: ArrayLike<number>, right: ArrayLike<number>): number {
  let worst = 0;
  for (let index = 0; index < left.length; index++) worst = Math.max(worst, Math.abs((left[index] as number) - (right[index] as number)));
  return worst;
}

/**
 * Waits (up to 10 s) until `threads` threads take split kernel calls: the helpers start on the
 * first large split call, which the calling thread makes alone until they are up. Returns the
 * count reached, for the test to check.
 */
export async function helperThreadsReady(kernels: WasmKernels, threads: number): Promise<number> {
  for (let waited = 0; kernels.gemmThreads < threads && waited < 10_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  return kernels.gemmThreads;
}
