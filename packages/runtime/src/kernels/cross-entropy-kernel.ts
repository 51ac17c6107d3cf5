import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { wasmKernelsFor, wasmKernelsForBackend, type WasmKernels } from './wasm-kernels.js';

type TensorInfo = tfCore.TensorInfo;

/** tfjs kernel name of the registered forward kernel. */
export const crossEntropyKernelName = 'CodestackCrossEntropy';
const backwardKernelName = 'CodestackCrossEntropyGrad';

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
  if (kernels === undefined) throw new Error(`${crossEntropyKernelName} runs only where codestack's wasm kernels are bound`);
  return kernels;
}

const registered = new WeakSet<TensorFlow>();

function register(tf: TensorFlow): void {
  if (registered.has(tf)) return;
  registered.add(tf);
  if (tf.getKernel(crossEntropyKernelName, 'wasm') !== undefined) return;
  tf.registerKernel({
    kernelName: crossEntropyKernelName,
    backendName: 'wasm',
    kernelFunc: (({ inputs, backend }: KernelArguments) => {
      const kernels = kernelsOf(backend);
      const logits = inputs.logits as TensorInfo;
      const [rows, vocabulary] = logits.shape as [number, number];
      const wasm = backend as WasmKernelBackend;
      const loss = wasm.makeOutput([], 'float32');
      const logSumExp = wasm.makeOutput([rows], 'float32');
      kernels.crossEntropyForward(rows, vocabulary, kernels.offsetOf(logits), kernels.offsetOf(inputs.targets as TensorInfo), kernels.offsetOf(loss), kernels.offsetOf(logSumExp));
      return [loss, logSumExp];
    }) as never,
  });
  tf.registerKernel({
    kernelName: backwardKernelName,
    backendName: 'wasm',
    kernelFunc: (({ inputs, backend }: KernelArguments) => {
      const kernels = kernelsOf(backend);
      const logits = inputs.logits as TensorInfo;
      const [rows, vocabulary] = logits.shape as [number, number];
      const gradient = (backend as WasmKernelBackend).makeOutput([rows, vocabulary], 'float32');
      const at = (name: string): number => kernels.offsetOf(inputs[name] as TensorInfo);
      kernels.crossEntropyBackward(rows, vocabulary, at('logits'), at('targets'), at('logSumExp'), at('upstream'), kernels.offsetOf(gradient));
      return gradient;
    }) as never,
  });
}

/**
 * The mean next-token cross-entropy of `logits` ([rows, vocabulary]) against int32 `targets`
 * ([rows]) as one kernel of codestack's own each way, or `undefined` when they are not bound (the
 * caller's tensor path then). No log-softmax or one-hot tensor is made ([rows, vocabulary] each:
 * 600 MB for 1,024 tokens of a 151k vocabulary); the backward pass is softmax minus one-hot from
 * each row's saved log-sum-exp. A target outside the vocabulary contributes 0, as a one-hot of it would.
 */
export function fusedCrossEntropy(tf: TensorFlow, logits: tfCore.Tensor2D, targets: tfCore.Tensor1D): tfCore.Scalar | undefined {
  if (wasmKernelsFor(tf) === undefined || targets.dtype !== 'int32') return undefined;
  register(tf);
  // The targets are not an input of the custom gradient (they have none) but are saved with the
  // rest: made inside a gradient's forward scope, they would be disposed before the backward pass.
  const operation = tf.customGrad(((input: tfCore.Tensor2D, save: (tensors: tfCore.Tensor[]) => void) => {
    const [loss, logSumExp] = tf.engine().runKernel(crossEntropyKernelName, { logits: input, targets } as never, {} as never) as unknown as [tfCore.Scalar, tfCore.Tensor1D];
    save([input, logSumExp, targets]);
    return {
      value: loss,
      gradFunc: (upstream: tfCore.Scalar, saved: tfCore.Tensor[]) => {
        const [savedLogits, savedLogSumExp, savedTargets] = saved as [tfCore.Tensor2D, tfCore.Tensor1D, tfCore.Tensor1D];
        return tf.engine().runKernel(backwardKernelName, { logits: savedLogits, targets: savedTargets, logSumExp: savedLogSumExp, upstream } as never, {} as never) as unknown as tfCore.Tensor2D;
      },
    };
  }) as never) as unknown as (input: tfCore.Tensor2D) => tfCore.Scalar;
  return operation(logits);
}
