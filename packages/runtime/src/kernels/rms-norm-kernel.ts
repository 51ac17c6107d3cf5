import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { wasmKernelsFor } from './wasm-kernels.js';
import { registerWasmKernels, runWasmKernel } from './wasm-kernel-registration.js';

/** tfjs kernel name of the registered forward kernel. */
export const rmsNormKernelName = 'CodestackRmsNorm';
const backwardKernelName = 'CodestackRmsNormGrad';

function register(tf: TensorFlow): void {
  registerWasmKernels(tf, {
    [rmsNormKernelName]: ({ inputs, attributes, kernels, output, offsetOf }) => {
      const [rows, width] = (inputs.x as tfCore.TensorInfo).shape as [number, number];
      const out = output([rows, width]);
      const factors = output([rows]);
      kernels.rmsNormForward(rows, width, offsetOf('x'), offsetOf('weight'), attributes.epsilon as number, kernels.offsetOf(out), kernels.offsetOf(factors));
      return [out, factors];
    },
    [backwardKernelName]: ({ inputs, kernels, output, offsetOf }) => {
      const [rows, width] = (inputs.x as tfCore.TensorInfo).shape as [number, number];
      const inputGradient = output([rows, width]);
      const weightGradient = output([width]);
      kernels.rmsNormBackward(rows, width, offsetOf('x'), offsetOf('weight'), offsetOf('factors'), offsetOf('upstream'), kernels.offsetOf(inputGradient), kernels.offsetOf(weightGradient));
      return [inputGradient, weightGradient];
    },
  });
}

/**
 * RMSNorm of float32 [rows, width] `input` scaled by [width] `weight` as one kernel of codestack's
 * own each way (tfjs's ops take seven forward and about a dozen backward), or `undefined` when they
 * are not bound (the caller's tensor path then). Differentiable in both inputs; without
 * `differentiable` nothing is kept for a backward pass.
 */
export function fusedRmsNorm(tf: TensorFlow, input: tfCore.Tensor2D, weight: tfCore.Tensor, epsilon: number, differentiable: boolean): tfCore.Tensor2D | undefined {
  if (wasmKernelsFor(tf) === undefined || input.dtype !== 'float32' || weight.dtype !== 'float32' || weight.rank !== 1 || weight.shape[0] !== input.shape[1]) return undefined;
  register(tf);
  if (!differentiable) {
    const [output, factors] = runWasmKernel<[tfCore.Tensor2D, tfCore.Tensor1D]>(tf, rmsNormKernelName, { x: input, weight }, { epsilon });
    factors.dispose();
    return output;
  }
  const operation = tf.customGrad(((x: tfCore.Tensor2D, scale: tfCore.Tensor1D, save: (tensors: tfCore.Tensor[]) => void) => {
    const [output, factors] = runWasmKernel<[tfCore.Tensor2D, tfCore.Tensor1D]>(tf, rmsNormKernelName, { x, weight: scale }, { epsilon });
    save([x, scale, factors]);
    return {
      value: output,
      gradFunc: (upstream: tfCore.Tensor2D, saved: tfCore.Tensor[]) => {
        const [savedInput, savedWeight, savedFactors] = saved as [tfCore.Tensor2D, tfCore.Tensor1D, tfCore.Tensor1D];
        return runWasmKernel<[tfCore.Tensor2D, tfCore.Tensor1D]>(tf, backwardKernelName, { x: savedInput, weight: savedWeight, factors: savedFactors, upstream });
      },
    };
  }) as never) as unknown as (x: tfCore.Tensor2D, scale: tfCore.Tensor) => tfCore.Tensor2D;
  return operation(input, weight);
}
