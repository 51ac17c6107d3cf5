import type * as tfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@codestack/core';
import type { TensorFlow } from '../backend/tensorflow.js';

/** The global L2 norm over every gradient. */
export function globalNorm(tf: TensorFlow, gradients: ReadonlyMap<string, tfCore.Tensor>): number {
  let total = 0;
  for (const gradient of gradients.values()) total += tf.tidy(() => tf.sum(tf.square(gradient)).dataSync()[0] as number);
  return Math.sqrt(total);
}

/**
 * Scales every gradient by `maximumNorm / norm` when the global norm exceeds `maximumNorm`.
 * Returns new tensors (the inputs are disposed when replaced) and the norm before clipping.
 */
export function clipByGlobalNorm(
  tf: TensorFlow,
  gradients: Map<string, tfCore.Tensor>,
  maximumNorm: number,
): { gradients: Map<string, tfCore.Tensor>; norm: number } {
  if (!(maximumNorm > 0)) throw new InvalidArgumentError({ argument: 'maximumNorm', message: `expected a positive number, got ${maximumNorm}` });
  const norm = globalNorm(tf, gradients);
  if (!(norm > maximumNorm)) return { gradients, norm };
  const scale = maximumNorm / norm;
  const clipped = new Map<string, tfCore.Tensor>();
  for (const [name, gradient] of gradients) {
    clipped.set(name, tf.mul(gradient, scale));
    gradient.dispose();
  }
  return { gradients: clipped, norm };
}
