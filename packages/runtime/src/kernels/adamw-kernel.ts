import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { wasmKernelsFor, type AdamWConstants } from './wasm-kernels.js';
import { registerWasmKernels, runWasmKernel } from './wasm-kernel-registration.js';

/** tfjs kernel name of the registered AdamW step. */
export const adamWKernelName = 'CodestackAdamW';

function register(tf: TensorFlow): void {
  registerWasmKernels(tf, {
    [adamWKernelName]: ({ inputs, attributes, kernels, output, offsetOf }) => {
      const shape = (inputs.value as tfCore.TensorInfo).shape;
      const count = shape.reduce((product, size) => product * size, 1);
      const [value, first, second] = [output(shape), output(shape), output(shape)] as [tfCore.TensorInfo, tfCore.TensorInfo, tfCore.TensorInfo];
      kernels.adamW(count, offsetOf('value'), offsetOf('gradient'), offsetOf('first'), offsetOf('second'), attributes as unknown as AdamWConstants, kernels.offsetOf(value), kernels.offsetOf(first), kernels.offsetOf(second));
      return [value, first, second];
    },
  });
}

/**
 * One AdamW step for a float32 variable as one kernel of codestack's own: the next value and
 * moments (new tensors, the caller's to keep or dispose) from the current value, the gradient and
 * the moments; `undefined` where the kernels are not bound (the caller's own path then). Not
 * differentiable.
 */
export function adamWStep(
  tf: TensorFlow,
  tensors: { value: tfCore.Tensor; gradient: tfCore.Tensor; first: tfCore.Tensor; second: tfCore.Tensor },
  constants: AdamWConstants,
): [tfCore.Tensor, tfCore.Tensor, tfCore.Tensor] | undefined {
  if (wasmKernelsFor(tf) === undefined || Object.values(tensors).some((tensor) => tensor.dtype !== 'float32')) return undefined;
  register(tf);
  return runWasmKernel<[tfCore.Tensor, tfCore.Tensor, tfCore.Tensor]>(tf, adamWKernelName, tensors, { ...constants });
}
