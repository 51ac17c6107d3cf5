import type * as tfCore from '@tensorflow/tfjs-core';
import type { LlamaModel, LossFunction } from '@codestack/runtime';
import type { TokenWindow } from './training-data.js';

/** Int32/float tensors of a batch of windows. */
export interface WindowBatch {
  /** [batch, tokens] int32 input ids. */
  inputs: tfCore.Tensor2D;
  /** [batch * tokens] int32 targets. */
  targets: tfCore.Tensor1D;
  /** [batch * tokens] float32 0/1 loss mask. */
  mask: tfCore.Tensor1D;
  /** The number of learned positions (sum of the mask). */
  learnedTokens: number;
}

/** Builds the tensors of a batch of windows (the caller disposes them). */
export function batchTensors(model: LlamaModel, windows: readonly TokenWindow[]): WindowBatch {
  const tf = model.runtime.tf;
  const length = windows[0]?.inputs.length ?? 0;
  const inputs = new Int32Array(windows.length * length);
  const targets = new Int32Array(windows.length * length);
  const mask = new Float32Array(windows.length * length);
  let learnedTokens = 0;
  windows.forEach((window, row) => {
    inputs.set(window.inputs, row * length);
    targets.set(window.targets, row * length);
    mask.set(window.mask, row * length);
    for (const value of window.mask) learnedTokens += value;
  });
  return {
    inputs: tf.tensor2d(inputs, [windows.length, length], 'int32'),
    targets: tf.tensor1d(targets, 'int32'),
    mask: tf.tensor1d(mask, 'float32'),
    learnedTokens,
  };
}

/**
 * The summed negative log-likelihood (nats) of the masked targets of a batch, as a scalar
 * tensor; runs the model's forward pass (with whatever `linearHook` is installed).
 */
export function maskedNegativeLogLikelihood(model: LlamaModel, batch: WindowBatch): tfCore.Scalar {
  const tf = model.runtime.tf;
  const logits = model.logitsFlat(batch.inputs);
  const logProbabilities = tf.logSoftmax(logits);
  const picked = tf.sum(tf.mul(logProbabilities, tf.oneHot(batch.targets, model.config.vocabularySize)), -1);
  return tf.neg(tf.sum(tf.mul(picked, batch.mask))) as tfCore.Scalar;
}

/**
 * The training loss tuning passes to the runtime's `Trainer`: the masked negative log-likelihood
 * of a batch divided by its learned tokens (the sum of its `mask`, or every target when the
 * batch has none), i.e. the mean loss per learned token.
 */
export function maskedMeanLoss(model: LlamaModel): LossFunction {
  return (batch) => {
    const tf = model.runtime.tf;
    const mask = batch.mask ?? new Float32Array(batch.inputs.length).fill(1);
    let learnedTokens = 0;
    for (const value of mask) learnedTokens += value;
    const tensors: WindowBatch = {
      inputs: tf.tensor2d(batch.inputs, [batch.batchSize, batch.sequenceLength], 'int32'),
      targets: tf.tensor1d(batch.targets, 'int32'),
      mask: tf.tensor1d(mask, 'float32'),
      learnedTokens,
    };
    // Runs inside the trainer's gradient tape (or a tidy), which releases these tensors.
    return tf.div(maskedNegativeLogLikelihood(model, tensors), Math.max(1, learnedTokens)) as tfCore.Scalar;
  };
}
