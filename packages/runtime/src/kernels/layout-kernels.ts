import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { wasmKernelsFor } from './wasm-kernels.js';
import { registerWasmKernels, runWasmKernel } from './wasm-kernel-registration.js';

/** tfjs kernel names of the two registered kernels. */
export const transposeKernelName = 'CodestackTranspose2D';
export const columnSumsKernelName = 'CodestackColumnSums';

function register(tf: TensorFlow): void {
  registerWasmKernels(tf, {
    [transposeKernelName]: ({ inputs, kernels, output, offsetOf }) => {
      const [rows, columns] = (inputs.x as tfCore.TensorInfo).shape as [number, number];
      const out = output([columns, rows]);
      kernels.transpose(rows, columns, offsetOf('x'), kernels.offsetOf(out));
      return out;
    },
    [columnSumsKernelName]: ({ inputs, kernels, output, offsetOf }) => {
      const [rows, columns] = (inputs.x as tfCore.TensorInfo).shape as [number, number];
      const out = output([columns]);
      kernels.columnSums(rows, columns, offsetOf('x'), kernels.offsetOf(out));
      return out;
    },
  });
}

/**
 * The transpose of a float32 matrix: on codestack's wasm kernels one kernel moving 4 x 4 blocks
 * through registers (tfjs-wasm's Transpose moved one element at a time, about 6 ns each);
 * elsewhere `tf.transpose`. Not differentiable on the kernels path: for use inside gradient
 * functions (see {@link matMul2d}).
 */
export function transposeMatrix(tf: TensorFlow, x: tfCore.Tensor2D): tfCore.Tensor2D {
  if (x.dtype !== 'float32' || wasmKernelsFor(tf) === undefined) return tf.transpose(x);
  register(tf);
  return runWasmKernel<tfCore.Tensor2D>(tf, transposeKernelName, { x });
}

/**
 * The sum of a float32 matrix's rows, [columns]: on codestack's wasm kernels one vectorised pass;
 * elsewhere `undefined` (the caller keeps its own way). Not differentiable: for use inside
 * gradient functions.
 */
export function columnSums(tf: TensorFlow, x: tfCore.Tensor2D): tfCore.Tensor1D | undefined {
  if (x.dtype !== 'float32' || wasmKernelsFor(tf) === undefined) return undefined;
  register(tf);
  return runWasmKernel<tfCore.Tensor1D>(tf, columnSumsKernelName, { x });
}
