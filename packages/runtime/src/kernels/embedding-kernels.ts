import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { wasmKernelsFor } from './wasm-kernels.js';
import { registerWasmKernels, runWasmKernel } from './wasm-kernel-registration.js';

/** tfjs kernel name of the registered row gather. */
export const embeddingGatherKernelName = 'CodestackEmbeddingGather';
/** tfjs kernel name of the registered scatter-add, the gather's gradient. */
export const embeddingScatterKernelName = 'CodestackEmbeddingScatter';

function register(tf: TensorFlow): void {
  registerWasmKernels(tf, {
    [embeddingGatherKernelName]: ({ inputs, attributes, kernels, output, offsetOf }) => {
      const width = (inputs.table as tfCore.TensorInfo).shape[1] as number;
      const indices = attributes.indices as Int32Array;
      const out = output([indices.length, width]);
      // Views after the output is made: making it may grow the memory.
      const floats = kernels.floats();
      const source = offsetOf('table') / 4;
      const target = kernels.offsetOf(out) / 4;
      for (let position = 0; position < indices.length; position++) {
        const row = source + (indices[position] as number) * width;
        floats.copyWithin(target + position * width, row, row + width);
      }
      return out;
    },
    [embeddingScatterKernelName]: ({ inputs, attributes, kernels, output, offsetOf }) => {
      const width = (inputs.upstream as tfCore.TensorInfo).shape[1] as number;
      const indices = attributes.indices as Int32Array;
      const rows = attributes.rows as number;
      const out = output([rows, width]);
      const floats = kernels.floats();
      const source = offsetOf('upstream') / 4;
      const target = kernels.offsetOf(out) / 4;
      floats.fill(0, target, target + rows * width);
      for (let position = 0; position < indices.length; position++) {
        const into = target + (indices[position] as number) * width;
        const from = source + position * width;
        for (let column = 0; column < width; column++) floats[into + column] = (floats[into + column] as number) + (floats[from + column] as number);
      }
      return out;
    },
  });
}

/**
 * Rows `indices` of a float32 `table` [rows, width] as one kernel of codestack's own each way,
 * in the backend's memory: the rows are copied in place, and the gradient (a scatter-add of the
 * upstream rows into a zeroed [rows, width]) is added up there, so that neither the table nor the
 * gradient is copied out to JavaScript and back. `undefined` where the kernels are not bound (the
 * caller's path then). The caller checks that every index lies in [0, rows). Differentiable in
 * `table`.
 */
export function ownEmbeddingLookup(tf: TensorFlow, table: tfCore.Tensor2D, indices: Int32Array): tfCore.Tensor2D | undefined {
  if (wasmKernelsFor(tf) === undefined || table.dtype !== 'float32') return undefined;
  register(tf);
  const rows = table.shape[0];
  const operation = tf.customGrad(((weights: tfCore.Tensor2D, save: (tensors: tfCore.Tensor[]) => void) => {
    save([]);
    return {
      value: runWasmKernel<tfCore.Tensor2D>(tf, embeddingGatherKernelName, { table: weights }, { indices }),
      gradFunc: (upstream: tfCore.Tensor2D) => [runWasmKernel<tfCore.Tensor2D>(tf, embeddingScatterKernelName, { upstream }, { indices, rows })],
    };
  }) as never) as unknown as (weights: tfCore.Tensor2D) => tfCore.Tensor2D;
  return operation(table);
}
