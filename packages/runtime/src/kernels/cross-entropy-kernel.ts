import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { wasmKernelsFor } from './wasm-kernels.js';
import { registerWasmKernels, runWasmKernel } from './wasm-kernel-registration.js';

/** tfjs kernel name of the registered forward kernel. */
export const crossEntropyKernelName = 'CodestackCrossEntropy';
const backwardKernelName = 'CodestackCrossEntropyGrad';

function register(tf: TensorFlow): void {
  registerWasmKernels(tf, {
    [crossEntropyKernelName]: ({ inputs, kernels, output, offsetOf }) => {
      const [rows, vocabulary] = (inputs.logits as tfCore.TensorInfo).shape as [number, number];
      const loss = output([]);
      const logSumExp = output([rows]);
      kernels.crossEntropyForward(rows, vocabulary, offsetOf('logits'), offsetOf('targets'), kernels.offsetOf(loss), kernels.offsetOf(logSumExp));
      return [loss, logSumExp];
    },
    [backwardKernelName]: ({ inputs, kernels, output, offsetOf }) => {
      const [rows, vocabulary] = (inputs.logits as tfCore.TensorInfo).shape as [number, number];
      const gradient = output([rows, vocabulary]);
      kernels.crossEntropyBackward(rows, vocabulary, offsetOf('logits'), offsetOf('targets'), offsetOf('logSumExp'), offsetOf('upstream'), kernels.offsetOf(gradient));
      return gradient;
    },
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
    const [loss, logSumExp] = runWasmKernel<[tfCore.Scalar, tfCore.Tensor1D]>(tf, crossEntropyKernelName, { logits: input, targets });
    save([input, logSumExp, targets]);
    return {
      value: loss,
      gradFunc: (upstream: tfCore.Scalar, saved: tfCore.Tensor[]) => {
        const [savedLogits, savedLogSumExp, savedTargets] = saved as [tfCore.Tensor2D, tfCore.Tensor1D, tfCore.Tensor1D];
        return runWasmKernel<tfCore.Tensor2D>(tf, backwardKernelName, { logits: savedLogits, targets: savedTargets, logSumExp: savedLogSumExp, upstream });
      },
    };
  }) as never) as unknown as (input: tfCore.Tensor2D) => tfCore.Scalar;
  return operation(logits);
}
