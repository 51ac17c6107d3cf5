import type * as tfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@codestack/core';
import type { TensorFlow } from '../backend/tensorflow.js';

/**
 * Runs `lossFunction` under a gradient tape and returns the loss value and the gradient of every
 * variable in `variables`, by name. Every intermediate tensor is released; the caller owns the
 * returned gradients.
 */
export function computeGradients(
  tf: TensorFlow,
  variables: ReadonlyMap<string, tfCore.Variable>,
  lossFunction: () => tfCore.Scalar,
): { loss: number; gradients: Map<string, tfCore.Tensor> } {
  const list = [...variables.values()];
  if (list.length === 0) throw new InvalidArgumentError({ argument: 'variables', message: 'nothing to train' });
  const { value, grads } = tf.variableGrads(lossFunction, list);
  const loss = value.dataSync()[0] as number;
  value.dispose();
  const gradients = new Map<string, tfCore.Tensor>();
  for (const [name, variable] of variables) {
    const gradient = grads[variable.name];
    if (gradient !== undefined) gradients.set(name, gradient);
  }
  return { loss, gradients };
}

/** Adds `addition` into `total` (by name), disposing the replaced tensors and `addition`'s. */
export function accumulateGradients(tf: TensorFlow, total: Map<string, tfCore.Tensor>, addition: Map<string, tfCore.Tensor>): void {
  for (const [name, gradient] of addition) {
    const previous = total.get(name);
    if (previous === undefined) {
      total.set(name, gradient);
    } else {
      total.set(name, tf.add(previous, gradient));
      previous.dispose();
      gradient.dispose();
    }
  }
}

/** Multiplies every gradient by `factor` in place (by name), disposing the replaced tensors. */
export function scaleGradients(tf: TensorFlow, gradients: Map<string, tfCore.Tensor>, factor: number): void {
  if (factor === 1) return;
  for (const [name, gradient] of gradients) {
    gradients.set(name, tf.mul(gradient, factor));
    gradient.dispose();
  }
}
