import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { wasmKernelsFor } from './wasm-kernels.js';
import { registerWasmKernels, runWasmKernel } from './wasm-kernel-registration.js';

/** tfjs kernel name of the registered rotation (both directions). */
export const rotaryKernelName = 'CodestackRotary';

/** Where the heads lie on the far side of the rotation, by the kernel's layout number. */
const layoutNumbers = { rows: 0, heads: 1, headsTransposed: 2 } as const;

/** The shape of one rotation ({@link rotaryKernel}). */
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
 * One rotation of a float32 tensor as one kernel of codestack's own, or `undefined` when they are
 * not bound (the caller's JavaScript path then): direction 1 from [batch * tokens, heads * head]
 * rows to `shape.layout` ([batch * tokens, heads * head], [batch, heads, tokens, head] or
 * [batch, heads, head, tokens]), direction -1 back (the gradient), into a tensor of
 * `outputShape`. `cos` and `sin` are the tables' rows for the pass's positions, [tokens, head /
 * 2]. Not differentiable by itself: `rotaryEmbedding` gives it its gradient.
 */
export function rotaryKernel(tf: TensorFlow, input: tfCore.Tensor, shape: RotaryKernelShape, direction: 1 | -1, outputShape: readonly number[], cos: Float32Array, sin: Float32Array): tfCore.Tensor | undefined {
  if (wasmKernelsFor(tf) === undefined || input.dtype !== 'float32') return undefined;
  register(tf);
  return runWasmKernel<tfCore.Tensor>(tf, rotaryKernelName, { x: input }, { ...shape, direction, outputShape: [...outputShape], cos, sin });
}
