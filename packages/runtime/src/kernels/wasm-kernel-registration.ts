import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { wasmKernelsForBackend, type WasmKernels } from './wasm-kernels.js';

type TensorInfo = tfCore.TensorInfo;

/** What the body of a registered kernel gets for one call. */
export interface WasmKernelCall {
  /** The inputs by name. */
  inputs: Record<string, TensorInfo>;
  /** The attributes (empty when none were passed). */
  attributes: Record<string, unknown>;
  /** The kernels bound to the backend the call runs on. */
  kernels: WasmKernels;
  /** A new float32 output of the backend, allocated in its memory. */
  output(shape: number[]): TensorInfo;
  /** The byte offset of the input called `name`. */
  offsetOf(name: string): number;
}

/** A kernel body: reads its inputs in place, writes its outputs, returns them. */
export type WasmKernelBody = (call: WasmKernelCall) => TensorInfo | TensorInfo[];

/** The parts of tfjs-wasm's `BackendWasm` a kernel function uses. */
interface WasmKernelBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

const registered = new WeakMap<TensorFlow, Set<string>>();

/**
 * Registers each body as a tfjs kernel of the `wasm` backend under its name, once per
 * TensorFlow.js namespace (a name tfjs already knows is left alone). The bodies run on
 * codestack's kernels bound to the backend of the call; they throw if there are none, which the
 * callers prevent by asking {@link wasmKernelsFor} first.
 */
export function registerWasmKernels(tf: TensorFlow, bodies: Record<string, WasmKernelBody>): void {
  let names = registered.get(tf);
  if (names === undefined) {
    names = new Set();
    registered.set(tf, names);
  }
  for (const [name, body] of Object.entries(bodies)) {
    if (names.has(name)) continue;
    names.add(name);
    if (tf.getKernel(name, 'wasm') !== undefined) continue;
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, unknown> }) => {
        const kernels = wasmKernelsForBackend(backend as object);
        if (kernels === undefined) throw new Error(`${name} runs only where codestack's wasm kernels are bound`);
        return body({
          inputs,
          attributes: attrs ?? {},
          kernels,
          output: (shape) => (backend as WasmKernelBackend).makeOutput(shape, 'float32'),
          offsetOf: (input) => kernels.offsetOf(inputs[input] as TensorInfo),
        });
      }) as never,
    });
  }
}

/** Runs a kernel registered by {@link registerWasmKernels} on tensors (recorded like any tfjs kernel). */
export function runWasmKernel<Result>(tf: TensorFlow, name: string, inputs: Record<string, tfCore.Tensor>, attributes: Record<string, unknown> = {}): Result {
  return tf.engine().runKernel(name, inputs as never, attributes as never) as unknown as Result;
}
