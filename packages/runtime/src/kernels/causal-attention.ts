import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { wasmKernelsFor, wasmKernelsForBackend, type WasmKernels } from './wasm-kernels.js';

type Tensor = tfCore.Tensor;
type Tensor3D = tfCore.Tensor3D;
type TensorInfo = tfCore.TensorInfo;

/** tfjs kernel names of the two registered kernels (prefixed, so that they cannot clash with tfjs's). */
export const causalAttentionKernelName = 'CodestackCausalAttention';
const backwardKernelName = 'CodestackCausalAttentionGrad';

/** The parts of tfjs-wasm's `BackendWasm` a kernel function uses. */
interface WasmKernelBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

interface KernelArguments {
  inputs: Record<string, TensorInfo>;
  backend: unknown;
  attrs?: Record<string, unknown>;
}

function kernelsOf(backend: unknown): WasmKernels {
  const kernels = wasmKernelsForBackend(backend as object);
  if (kernels === undefined) throw new Error(`${causalAttentionKernelName} runs only where codestack's wasm kernels are bound`);
  return kernels;
}

/** The sizes shared by both kernels, read from the inputs' shapes and the `groups` attribute. */
function dimensions(inputs: Record<string, TensorInfo>, attributes: Record<string, unknown> | undefined): { slices: number; groups: number; tokens: number; offset: number; head: number; keys: number } {
  const [slices, rows, head] = (inputs.query as TensorInfo).shape as [number, number, number];
  const keys = ((inputs.keysTransposed as TensorInfo).shape as number[])[2] as number;
  const groups = attributes?.groups as number;
  const tokens = rows / groups;
  return { slices, groups, tokens, offset: keys - tokens, head, keys };
}

const registered = new WeakSet<TensorFlow>();

/** Registers the forward and backward kernels for the `wasm` backend, once per TensorFlow.js namespace. */
function register(tf: TensorFlow): void {
  if (registered.has(tf)) return;
  registered.add(tf);
  if (tf.getKernel(causalAttentionKernelName, 'wasm') !== undefined) return;
  tf.registerKernel({
    kernelName: causalAttentionKernelName,
    backendName: 'wasm',
    kernelFunc: (({ inputs, backend, attrs }: KernelArguments) => {
      const kernels = kernelsOf(backend);
      const { slices, groups, tokens, offset, head, keys } = dimensions(inputs, attrs);
      const wasm = backend as WasmKernelBackend;
      const out = wasm.makeOutput([slices, groups * tokens, head], 'float32');
      const stats = wasm.makeOutput([slices, groups * tokens, 2], 'float32');
      const scratch = kernels.scratch(kernels.causalAttentionScratch(keys, head, false));
      kernels.causalAttentionForward(
        slices, groups, tokens, offset, head,
        kernels.offsetOf(inputs.query as TensorInfo), kernels.offsetOf(inputs.keysTransposed as TensorInfo), kernels.offsetOf(inputs.values as TensorInfo),
        kernels.offsetOf(out), kernels.offsetOf(stats), scratch,
      );
      return [out, stats];
    }) as never,
  });
  tf.registerKernel({
    kernelName: backwardKernelName,
    backendName: 'wasm',
    kernelFunc: (({ inputs, backend, attrs }: KernelArguments) => {
      const kernels = kernelsOf(backend);
      const { slices, groups, tokens, offset, head, keys } = dimensions(inputs, attrs);
      const wasm = backend as WasmKernelBackend;
      const queryGradient = wasm.makeOutput([slices, groups * tokens, head], 'float32');
      const keysGradient = wasm.makeOutput([slices, head, keys], 'float32');
      const valuesGradient = wasm.makeOutput([slices, keys, head], 'float32');
      const scratch = kernels.scratch(kernels.causalAttentionScratch(keys, head, true));
      const at = (name: string): number => kernels.offsetOf(inputs[name] as TensorInfo);
      kernels.causalAttentionBackward(
        slices, groups, tokens, offset, head,
        at('query'), at('keysTransposed'), at('values'), at('out'), at('stats'), at('outGradient'),
        kernels.offsetOf(queryGradient), kernels.offsetOf(keysGradient), kernels.offsetOf(valuesGradient), scratch,
      );
      return [queryGradient, keysGradient, valuesGradient];
    }) as never,
  });
}

type AttentionFunction = (query: Tensor3D, keysTransposed: Tensor3D, values: Tensor3D) => Tensor3D;
const differentiableByGroups = new WeakMap<TensorFlow, Map<number, AttentionFunction>>();

function forward(tf: TensorFlow, query: Tensor3D, keysTransposed: Tensor3D, values: Tensor3D, groups: number): [Tensor3D, Tensor3D] {
  return tf.engine().runKernel(causalAttentionKernelName, { query, keysTransposed, values } as never, { groups } as never) as unknown as [Tensor3D, Tensor3D];
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
  if (wasmKernelsFor(tf) === undefined) return undefined;
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
          return tf.engine().runKernel(
            backwardKernelName,
            { query: savedQuery, keysTransposed: savedKeys, values: savedValues, out: savedOut, stats: savedStats, outGradient } as never,
            { groups } as never,
          ) as unknown as Tensor[];
        },
      };
    }) as never) as unknown as AttentionFunction;
    byGroups.set(groups, operation);
  }
  return operation(query, keysTransposed, values);
}
