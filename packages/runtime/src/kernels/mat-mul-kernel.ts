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
      let b = offsetOf('b');
      if (transposeB) {
        // B^T row-major in scratch (the weight side, small next to the product).
        const scratch = kernels.scratch(bRows * bColumns);
        kernels.transpose(bRows, bColumns, b, scratch);
        b = scratch;
      }
      kernels.gemm(m, n, k, offsetOf('a'), transposeA ? 1 : aColumns, transposeA ? aColumns : 1, b, n, kernels.offsetOf(out), n, false);
      return out;
    },
  });
}

/**
 * `op(a) @ op(b)` for float32 matrices (op transposes where asked) on codestack's own GEMM, where
 * it beats tfjs-wasm's: the relaxed-SIMD build (fused multiply-add) on one thread. `undefined`
 * elsewhere (no relaxed SIMD in this engine, the threaded build, whose XNNPACK uses every thread,
 * another backend, or `kernels: 'tfjs'`), for the caller's tfjs matMul. Not differentiable: the
 * caller's custom gradient ({@link matMul2d}) uses it for the forward and both gradients.
 */
export function ownMatMul(tf: TensorFlow, a: tfCore.Tensor2D, b: tfCore.Tensor2D, transposeA = false, transposeB = false): tfCore.Tensor2D | undefined {
  const kernels = wasmKernelsFor(tf);
  if (kernels === undefined || !kernels.relaxedSimd || kernels.shared || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  register(tf);
  return runWasmKernel<tfCore.Tensor2D>(tf, matMulKernelName, { a, b }, { transposeA, transposeB });
}
