import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { wasmKernelsFor } from './wasm-kernels.js';
import { registerWasmKernels, runWasmKernel } from './wasm-kernel-registration.js';

/** tfjs kernel name of the registered rotation (both directions). */
export const rotaryKernelName = 'CodestackRotary';

/** Where the heads lie on the far side of the rotation, by the kernel's layout number. */
const layoutNumbers = { rows: 0, heads: 1, headsTransposed: 2 } as const;

/** The shape of one rotation ({@link fusedRotary}). */
export interface RotaryKernelShape {
  /** Sequences. */
  batch: number;
  /** Tokens per sequence. */
  tokens: number;
  /** Heads in a row. */
  heads: number;
  /** Size of one head (even). */
  head: number;
  /** Multiplies the result. */
  scale: number;
  /** Where the rotated heads go (see `RotaryLayout` in ops/rotary-embedding.ts). */
  layout: keyof typeof layoutNumbers;
}

function register(tf: TensorFlow): void {
  registerWasmKernels(tf, {
    [rotaryKernelName]: ({ inputs, attributes, kernels, output, offsetOf }) => {
      const { batch, tokens, heads, head, scale, layout, direction, outputShape } = attributes as unknown as RotaryKernelShape & { direction: 1 | -1; outputShape: number[] };
      const { cos, sin } = attributes as { cos: Float32Array; sin: Float32Array };
      const out = output(outputShape);
      // The tables' rows for this pass, copied next to each other into scratch (a few KB).
      const table = kernels.scratch(2 * cos.length);
      kernels.floats().set(cos, table / 4);
      kernels.floats().set(sin, table / 4 + cos.length);
      kernels.rotary({ rows: batch * tokens, tokens, heads, head, layout: layoutNumbers[layout], direction, scale }, table, table + cos.length * 4, offsetOf('x'), kernels.offsetOf(out));
      return out;
    },
  });
}

/**
 * The rotary position embedding of a float32 [batch * tokens, heads * head] projection as one
 * kernel of codestack's own each way (the gradient is the inverse rotation), or `undefined` when
 * they are not bound (the caller's JavaScript path then). `cos` and `sin` are the tables' rows
 * for the pass's positions, [tokens, head / 2]. The result has the shape of `layout`: [batch *
 * tokens, heads * head], [batch, heads, tokens, head] or [batch, heads, head, tokens].
 */
export function fusedRotary(tf: TensorFlow, input: tfCore.Tensor2D, shape: RotaryKernelShape, cos: Float32Array, sin: Float32Array, differentiable: boolean): tfCore.Tensor | undefined {
  if (wasmKernelsFor(tf) === undefined || input.dtype !== 'float32') return undefined;
  register(tf);
  const { batch, tokens, heads, head, layout } = shape;
  const outputShape = layout === 'rows' ? [...input.shape] : layout === 'heads' ? [batch, heads, tokens, head] : [batch, heads, head, tokens];
  const rotate = (x: tfCore.Tensor, direction: 1 | -1, resultShape: number[]): tfCore.Tensor =>
    runWasmKernel<tfCore.Tensor>(tf, rotaryKernelName, { x }, { ...shape, direction, outputShape: resultShape, cos, sin });
  if (!differentiable) return rotate(input, 1, outputShape);
  const operation = tf.customGrad(((x: tfCore.Tensor2D, save: (tensors: tfCore.Tensor[]) => void) => {
    save([]);
    return { value: rotate(x, 1, outputShape), gradFunc: (upstream: tfCore.Tensor) => [rotate(upstream, -1, [...x.shape])] };
  }) as never) as unknown as (x: tfCore.Tensor2D) => tfCore.Tensor;
  return operation(input);
}
