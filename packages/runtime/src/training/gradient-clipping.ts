import type * as tfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@codestack/core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { wasmKernelsFor } from '../kernels/wasm-kernels.js';

/**
 * The global L2 norm over every gradient: on codestack's wasm kernels one call per float32
 * gradient, read in place (no kernel, tensor or read-back per gradient); otherwise a sum of
 * squares per gradient.
 */
export function globalNorm(tf: TensorFlow, gradients: ReadonlyMap<string, tfCore.Tensor>): number {
  const kernels = wasmKernelsFor(tf);
  let total = 0;
  for (const gradient of gradients.values()) {
    total += kernels !== undefined && gradient.dtype === 'float32' ? kernels.sumOfSquares(gradient.size, kernels.offsetOf(gradient)) : tf.tidy(() => tf.sum(tf.square(gradient)).dataSync()[0] as number);
  }
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
