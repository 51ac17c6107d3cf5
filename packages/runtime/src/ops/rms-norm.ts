import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { smallRowLimit } from './small-row-limit.js';

type Tensor = tfCore.Tensor;
type Tensor2D = tfCore.Tensor2D;

/**
 * RMSNorm over the last axis of [rows, width] `input`: `input / sqrt(mean(input^2) + epsilon) * weight`.
 *
 * Without gradients and with at most {@link smallRowLimit} rows (incremental decoding), the
 * normalisation runs in one JavaScript pass, which beats six kernel dispatches.
 */
export function rmsNorm(tf: TensorFlow, input: Tensor2D, weight: Tensor, epsilon: number, differentiable = true): Tensor2D {
  if (!differentiable && input.shape[0] <= smallRowLimit) {
    const [rows, width] = input.shape;
    const values = input.dataSync() as Float32Array;
    const scales = weight.dataSync() as Float32Array;
    const output = new Float32Array(values.length);
    for (let row = 0; row < rows; row++) {
      let sum = 0;
      for (let column = 0; column < width; column++) sum += (values[row * width + column] as number) ** 2;
      const factor = 1 / Math.sqrt(sum / width + epsilon);
      for (let column = 0; column < width; column++) {
        output[row * width + column] = (values[row * width + column] as number) * factor * (scales[column] as number);
      }
    }
    return tf.tensor2d(output, [rows, width]);
  }
  const meanSquare = tf.mean(tf.square(input), -1, true);
  return tf.mul(tf.mul(input, tf.rsqrt(tf.add(meanSquare, epsilon))), weight) as Tensor2D;
}
