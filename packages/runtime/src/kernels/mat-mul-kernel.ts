import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { wasmKernelsFor } from './wasm-kernels.js';
import { registerWasmKernels, runWasmKernel } from './wasm-kernel-registration.js';

/** tfjs kernel name of the registered matrix product. */
export const matMulKernelName = 'CodestackMatMul';

function register(tf: TensorFlow): void {
  registerWasmKernels(tf, {
    [matMulKernelName]: ({ inputs, attributes, kernels, output, offsetOf }) => {
      const transposeA = attributes.transposeA === true;
      const transposeB = attributes.transposeB === true;
      const [aRows, aColumns] = (inputs.a as tfCore.TensorInfo).shape as [number, number];
      const [bRows, bColumns] = (inputs.b as tfCore.TensorInfo).shape as [number, number];
      const [m, k] = transposeA ? [aColumns, aRows] : [aRows, aColumns];
      const n = transposeB ? bRows : bColumns;
      const out = output([m, n]);
      const product = [m, n, k, offsetOf('a'), transposeA ? 1 : aColumns, transposeA ? aColumns : 1, offsetOf('b'), transposeB ? 1 : bColumns, transposeB ? bColumns : 1, kernels.offsetOf(out), n] as const;
      const tensors = { output: out.dataId as object, inputs: [(inputs.a as tfCore.TensorInfo).dataId as object, (inputs.b as tfCore.TensorInfo).dataId as object] };
      if (!(attributes.queue === true && kernels.queueGemm(...product, tensors))) kernels.gemm(...product, false);
      return out;
    },
  });
}

/**
 * `op(a) @ op(b)` for float32 matrices (op transposes where asked) on codestack's own GEMM
 * ({@link WasmKernels.gemm}: B packed, a 4 x 8 register tile, fused multiply-add in the
 * relaxed-SIMD build, rows shared with helper threads on the threaded build), which beat
 * tfjs-wasm's XNNPACK matMul in training on every build measured (Node 20 without FMA: 1.28-1.33x
 * on one thread, 1.27-1.33x on two). `undefined` off codestack's kernels (another backend, or
 * `kernels: 'tfjs'`), for the caller's tfjs matMul. Not differentiable: the caller's custom
 * gradient ({@link matMul2d}) uses it for the forward and both gradients.
 *
 * With `queue`, a product that the native products can queue ({@link WasmKernels.queueGemm}: two
 * or more threads) runs on their own thread while this one goes on; the result is the same, and
 * anything that reads it waits for it first.
 */
export function ownMatMul(tf: TensorFlow, a: tfCore.Tensor2D, b: tfCore.Tensor2D, transposeA = false, transposeB = false, queue = false): tfCore.Tensor2D | undefined {
  const kernels = wasmKernelsFor(tf);
  if (kernels === undefined || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  register(tf);
  return runWasmKernel<tfCore.Tensor2D>(tf, matMulKernelName, { a, b }, { transposeA, transposeB, queue });
}
