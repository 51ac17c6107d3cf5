import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { wasmKernelsFor } from './wasm-kernels.js';
import { registerWasmKernels, runWasmKernel } from './wasm-kernel-registration.js';

/** tfjs kernel name of the registered forward kernel. */
export const swiGluKernelName = 'CodestackSwiGlu';
const backwardKernelName = 'CodestackSwiGluGrad';

function register(tf: TensorFlow): void {
  registerWasmKernels(tf, {
    [swiGluKernelName]: ({ inputs, kernels, output, offsetOf }) => {
      const shape = (inputs.gate as tfCore.TensorInfo).shape;
      const out = output(shape);
      kernels.swiGluForward(shape.reduce((product, size) => product * size, 1), offsetOf('gate'), offsetOf('up'), kernels.offsetOf(out));
      return out;
    },
    [backwardKernelName]: ({ inputs, kernels, output, offsetOf }) => {
      const shape = (inputs.gate as tfCore.TensorInfo).shape;
      const gateGradient = output(shape);
      const upGradient = output(shape);
      kernels.swiGluBackward(shape.reduce((product, size) => product * size, 1), offsetOf('gate'), offsetOf('up'), offsetOf('upstream'), kernels.offsetOf(gateGradient), kernels.offsetOf(upGradient));
      return [gateGradient, upGradient];
    },
  });
}

/**
 * SwiGLU `silu(gate) * up` of two float32 tensors of one shape as one kernel of codestack's own
 * each way (tfjs's ops take three forward and about seven backward), or `undefined` when they are
 * not bound (the caller's tensor path then). Differentiable in both inputs.
 */
export function fusedSwiGlu(tf: TensorFlow, gate: tfCore.Tensor2D, up: tfCore.Tensor2D): tfCore.Tensor2D | undefined {
  if (wasmKernelsFor(tf) === undefined || gate.dtype !== 'float32' || up.dtype !== 'float32' || !tf.util.arraysEqual(gate.shape, up.shape)) return undefined;
  register(tf);
  const operation = tf.customGrad(((gateInput: tfCore.Tensor2D, upInput: tfCore.Tensor2D, save: (tensors: tfCore.Tensor[]) => void) => {
    save([gateInput, upInput]);
    return {
      value: runWasmKernel<tfCore.Tensor2D>(tf, swiGluKernelName, { gate: gateInput, up: upInput }),
      gradFunc: (upstream: tfCore.Tensor2D, saved: tfCore.Tensor[]) => {
        const [savedGate, savedUp] = saved as [tfCore.Tensor2D, tfCore.Tensor2D];
        return runWasmKernel<[tfCore.Tensor2D, tfCore.Tensor2D]>(tf, backwardKernelName, { gate: savedGate, up: savedUp, upstream });
      },
    };
  }) as never) as unknown as (gateInput: tfCore.Tensor2D, upInput: tfCore.Tensor2D) => tfCore.Tensor2D;
  return operation(gate, up);
}
