import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { wasmKernelsFor } from './wasm-kernels.js';
import { registerWasmKernels, runWasmKernel } from './wasm-kernel-registration.js';

/** tfjs kernel name of the registered kernel. */
export const columnSumsKernelName = 'CodestackColumnSums';

function register(tf: TensorFlow): void {
  registerWasmKernels(tf, {
    [columnSumsKernelName]: ({ inputs, kernels, output, offsetOf }) => {
      const [rows, columns] = (inputs.x as tfCore.TensorInfo).shape as [number, number];
      const out = output([columns]);
      kernels.columnSums(rows, columns, offsetOf('x'), kernels.offsetOf(out));
      return out;
    },
  });
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
