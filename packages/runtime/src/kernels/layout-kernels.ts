import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { wasmKernelsFor } from './wasm-kernels.js';
import { registerWasmKernels, runWasmKernel } from './wasm-kernel-registration.js';

/** tfjs kernel name of the registered column sums. */
export const columnSumsKernelName = 'CodestackColumnSums';
/** tfjs kernel name of the registered move between the rows and heads layouts (both directions). */
export const headsLayoutKernelName = 'CodestackHeadsLayout';

function register(tf: TensorFlow): void {
  registerWasmKernels(tf, {
    [columnSumsKernelName]: ({ inputs, kernels, output, offsetOf }) => {
      const [rows, columns] = (inputs.x as tfCore.TensorInfo).shape as [number, number];
      const out = output([columns]);
      kernels.columnSums(rows, columns, offsetOf('x'), kernels.offsetOf(out));
      return out;
    },
    [headsLayoutKernelName]: ({ inputs, attributes, kernels, output, offsetOf }) => {
      const { batch, tokens, heads, head, direction } = attributes as { batch: number; tokens: number; heads: number; head: number; direction: 1 | -1 };
      const out = output(direction === 1 ? [batch, heads, tokens, head] : [batch * tokens, heads * head]);
      kernels.headsLayout({ rows: batch * tokens, tokens, heads, head, direction }, offsetOf('x'), kernels.offsetOf(out));
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

/**
 * A float32 [batch * tokens, heads * head] matrix moved to [batch, heads, tokens, head] (`toHeads`
 * true) or such a tensor moved back to [batch * tokens, heads * head], as one kernel of
 * codestack's own each way (split between threads when large); the gradient is the move back.
 * `undefined` where the kernels are not bound (the caller's reshape and transpose then).
 */
export function headsLayout(tf: TensorFlow, input: tfCore.Tensor, shape: { batch: number; tokens: number; heads: number; head: number }, toHeads: boolean, differentiable: boolean): tfCore.Tensor | undefined {
  if (input.dtype !== 'float32' || wasmKernelsFor(tf) === undefined || input.size !== shape.batch * shape.tokens * shape.heads * shape.head) return undefined;
  register(tf);
  const move = (x: tfCore.Tensor, direction: 1 | -1): tfCore.Tensor => runWasmKernel<tfCore.Tensor>(tf, headsLayoutKernelName, { x }, { ...shape, direction });
  const direction = toHeads ? 1 : -1;
  if (!differentiable) return move(input, direction);
  const operation = tf.customGrad(((x: tfCore.Tensor, save: (tensors: tfCore.Tensor[]) => void) => {
    save([]);
    return { value: move(x, direction), gradFunc: (upstream: tfCore.Tensor) => [tf.reshape(move(upstream, toHeads ? -1 : 1), x.shape)] };
  }) as never) as unknown as (x: tfCore.Tensor) => tfCore.Tensor;
  return operation(input);
}
