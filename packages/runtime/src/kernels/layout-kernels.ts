import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { wasmKernelsFor, wasmKernelsForBackend, type WasmKernels } from './wasm-kernels.js';

type TensorInfo = tfCore.TensorInfo;

/** tfjs kernel names of the two registered kernels. */
export const transposeKernelName = 'CodestackTranspose2D';
export const columnSumsKernelName = 'CodestackColumnSums';

interface KernelArguments {
  inputs: Record<string, TensorInfo>;
  backend: unknown;
}

/** The parts of tfjs-wasm's `BackendWasm` a kernel function uses. */
interface WasmKernelBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

function kernelsOf(backend: unknown): WasmKernels {
  const kernels = wasmKernelsForBackend(backend as object);
  if (kernels === undefined) throw new Error(`${transposeKernelName} runs only where codestack's wasm kernels are bound`);
  return kernels;
}

const registered = new WeakSet<TensorFlow>();

function register(tf: TensorFlow): void {
  if (registered.has(tf)) return;
  registered.add(tf);
  if (tf.getKernel(transposeKernelName, 'wasm') === undefined) {
    tf.registerKernel({
      kernelName: transposeKernelName,
      backendName: 'wasm',
      kernelFunc: (({ inputs, backend }: KernelArguments) => {
        const kernels = kernelsOf(backend);
        const x = inputs.x as TensorInfo;
        const [rows, columns] = x.shape as [number, number];
        const out = (backend as WasmKernelBackend).makeOutput([columns, rows], 'float32');
        kernels.transpose(rows, columns, kernels.offsetOf(x), kernels.offsetOf(out));
        return out;
      }) as never,
    });
  }
  if (tf.getKernel(columnSumsKernelName, 'wasm') === undefined) {
    tf.registerKernel({
      kernelName: columnSumsKernelName,
      backendName: 'wasm',
      kernelFunc: (({ inputs, backend }: KernelArguments) => {
        const kernels = kernelsOf(backend);
        const x = inputs.x as TensorInfo;
        const [rows, columns] = x.shape as [number, number];
        const out = (backend as WasmKernelBackend).makeOutput([columns], 'float32');
        kernels.columnSums(rows, columns, kernels.offsetOf(x), kernels.offsetOf(out));
        return out;
      }) as never,
    });
  }
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
  return tf.engine().runKernel(transposeKernelName, { x } as never, {} as never) as unknown as tfCore.Tensor2D;
}

/**
 * The sum of a float32 matrix's rows, [columns]: on codestack's wasm kernels one vectorised pass;
 * elsewhere `undefined` (the caller keeps its own way). Not differentiable: for use inside
 * gradient functions.
 */
export function columnSums(tf: TensorFlow, x: tfCore.Tensor2D): tfCore.Tensor1D | undefined {
  if (x.dtype !== 'float32' || wasmKernelsFor(tf) === undefined) return undefined;
  register(tf);
  return tf.engine().runKernel(columnSumsKernelName, { x } as never, {} as never) as unknown as tfCore.Tensor1D;
}
