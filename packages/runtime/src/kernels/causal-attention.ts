import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { wasmKernelsFor } from './wasm-kernels.js';
import { registerWasmKernels, runWasmKernel } from './wasm-kernel-registration.js';

type Tensor = tfCore.Tensor;
type Tensor3D = tfCore.Tensor3D;
type TensorInfo = tfCore.TensorInfo;

/** tfjs kernel names of the two registered kernels (prefixed, so that they cannot clash with tfjs's). */
export const causalAttentionKernelName = 'CodestackCausalAttention';
const backwardKernelName = 'CodestackCausalAttentionGrad';

/** The sizes shared by both kernels, read from the inputs' shapes and the `groups` attribute. */
function dimensions(inputs: Record<string, TensorInfo>, attributes: Record<string, unknown>): { slices: number; groups: number; tokens: number; offset: number; head: number; keys: number } {
  const [slices, rows, head] = (inputs.query as TensorInfo).shape as [number, number, number];
  const keys = ((inputs.keysTransposed as TensorInfo).shape as number[])[2] as number;
  const groups = attributes.groups as number;
  const tokens = rows / groups;
  return { slices, groups, tokens, offset: keys - tokens, head, keys };
}

function register(tf: TensorFlow): void {
  registerWasmKernels(tf, {
    [causalAttentionKernelName]: ({ inputs, attributes, kernels, output, offsetOf }) => {
      const { slices, groups, tokens, offset, head, keys } = dimensions(inputs, attributes);
      const out = output([slices, groups * tokens, head]);
      const stats = output([slices, groups * tokens, 2]);
      const scratch = kernels.scratch(kernels.causalAttentionScratch(keys, head, false) * kernels.threads);
      kernels.causalAttentionForward(slices, groups, tokens, offset, head, offsetOf('query'), offsetOf('keysTransposed'), offsetOf('values'), kernels.offsetOf(out), kernels.offsetOf(stats), scratch);
      return [out, stats];
    },
    [backwardKernelName]: ({ inputs, attributes, kernels, output, offsetOf }) => {
      const { slices, groups, tokens, offset, head, keys } = dimensions(inputs, attributes);
      const queryGradient = output([slices, groups * tokens, head]);
      const keysGradient = output([slices, head, keys]);
      const valuesGradient = output([slices, keys, head]);
      const scratch = kernels.scratch(kernels.causalAttentionScratch(keys, head, true) * kernels.threads);
      kernels.causalAttentionBackward(
        slices, groups, tokens, offset, head,
        offsetOf('query'), offsetOf('keysTransposed'), offsetOf('values'), offsetOf('out'), offsetOf('stats'), offsetOf('outGradient'),
        kernels.offsetOf(queryGradient), kernels.offsetOf(keysGradient), kernels.offsetOf(valuesGradient), scratch,
      );
      return [queryGradient, keysGradient, valuesGradient];
    },
  });
}

type AttentionFunction = (query: Tensor3D, keysTransposed: Tensor3D, values: Tensor3D) => Tensor3D;
const differentiableByGroups = new WeakMap<TensorFlow, Map<number, AttentionFunction>>();

function forward(tf: TensorFlow, query: Tensor3D, keysTransposed: Tensor3D, values: Tensor3D, groups: number): [Tensor3D, Tensor3D] {
  return runWasmKernel<[Tensor3D, Tensor3D]>(tf, causalAttentionKernelName, { query, keysTransposed, values }, { groups });
}

/**
 * Whether {@link causalAttention} runs on `tf`'s active backend (codestack's wasm kernels are
 * bound). The model builds a causal mask only where it does not: the kernel applies causality
 * itself, so both decisions must come from this one predicate.
 */
export function causalAttentionRuns(tf: TensorFlow): boolean {
  return wasmKernelsFor(tf) !== undefined;
}

/**
 * Causal grouped-query attention in one kernel on codestack's own wasm kernels, forward and
 * backward (a custom gradient whose backward is one kernel too), or `undefined` when they are not
 * bound (another backend, or `kernels: 'tfjs'`), for the caller's tensor path.
 *
 * Per key/value head (a "slice" of a sequence): `query` [slices, groups * tokens, head] (rotated
 * and scaled by 1/sqrt(head)), `keysTransposed` [slices, head, keys] and `values` [slices, keys,
 * head], where keys = offset + tokens (the cached positions first); query row g * tokens + i
 * attends keys 0..offset + i. Returns [slices, groups * tokens, head]. It replaces the scores
 * matMul, the mask, the softmax and the weighted sum (and in training their gradients: the
 * per-slice products, transposes and copies), computes only the keys each row attends, and keeps
 * per row only the softmax's maximum and sum for the backward pass, which recomputes the
 * probabilities.
 */
export function causalAttention(tf: TensorFlow, query: Tensor3D, keysTransposed: Tensor3D, values: Tensor3D, groups: number, differentiable: boolean): Tensor3D | undefined {
  if (!causalAttentionRuns(tf)) return undefined;
  register(tf);
  if (!differentiable) {
    const [out, stats] = forward(tf, query, keysTransposed, values, groups);
    stats.dispose();
    return out;
  }
  let byGroups = differentiableByGroups.get(tf);
  if (byGroups === undefined) {
    byGroups = new Map();
    differentiableByGroups.set(tf, byGroups);
  }
  let operation = byGroups.get(groups);
  if (operation === undefined) {
    operation = tf.customGrad(((q: Tensor3D, k: Tensor3D, v: Tensor3D, save: (tensors: Tensor[]) => void) => {
      const [out, stats] = forward(tf, q, k, v, groups);
      save([q, k, v, out, stats]);
      return {
        value: out,
        gradFunc: (outGradient: Tensor3D, saved: Tensor[]) => {
          const [savedQuery, savedKeys, savedValues, savedOut, savedStats] = saved as [Tensor3D, Tensor3D, Tensor3D, Tensor3D, Tensor3D];
          return runWasmKernel<Tensor[]>(tf, backwardKernelName, { query: savedQuery, keysTransposed: savedKeys, values: savedValues, out: savedOut, stats: savedStats, outGradient }, { groups });
        },
      };
    }) as never) as unknown as AttentionFunction;
    byGroups.set(groups, operation);
  }
  return operation(query, keysTransposed, values);
}
