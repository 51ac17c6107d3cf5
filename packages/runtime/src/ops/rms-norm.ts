import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { fusedRmsNorm } from '../kernels/rms-norm-kernel.js';
import { smallRowLimit } from './small-row-limit.js';

type Tensor = tfCore.Tensor;
type Tensor2D = tfCore.Tensor2D;

/**
 * `values` ([rows, width]) normalised row by row and scaled by `scales`, written to `output`;
 * returns each row's `1 / sqrt(mean(x^2) + epsilon)` (what {@link rmsNormRowsGradient} needs).
 */
export function rmsNormRows(values: Float32Array, scales: Float32Array, rows: number, width: number, epsilon: number, output: Float32Array): Float64Array {
  const factors = new Float64Array(rows);
  for (let row = 0; row < rows; row++) {
    const base = row * width;
    let sum = 0;
    for (let column = 0; column < width; column++) sum += (values[base + column] as number) ** 2;
    const factor = 1 / Math.sqrt(sum / width + epsilon);
    factors[row] = factor;
    for (let column = 0; column < width; column++) output[base + column] = (values[base + column] as number) * factor * (scales[column] as number);
  }
  return factors;
}

/**
 * The gradient of {@link rmsNormRows}: for upstream `upstream` ([rows, width]) returns the input
 * gradient `f * dy * w - x * f^3 / width * sum(dy * w * x)` per row and the scale gradient
 * `sum over rows of dy * x * f`.
 */
export function rmsNormRowsGradient(
  values: Float32Array,
  scales: Float32Array,
  factors: Float64Array,
  upstream: Float32Array,
  rows: number,
  width: number,
): { input: Float32Array; scale: Float32Array } {
  const input = new Float32Array(rows * width);
  const scale = new Float64Array(width);
  for (let row = 0; row < rows; row++) {
    const base = row * width;
    const factor = factors[row] as number;
    let dot = 0;
    for (let column = 0; column < width; column++) {
      const incoming = upstream[base + column] as number;
      const value = values[base + column] as number;
      dot += incoming * (scales[column] as number) * value;
      scale[column] = (scale[column] as number) + incoming * value * factor;
    }
    const correction = (dot * factor * factor * factor) / width;
    for (let column = 0; column < width; column++) {
      input[base + column] = factor * (upstream[base + column] as number) * (scales[column] as number) - (values[base + column] as number) * correction;
    }
  }
  return { input, scale: Float32Array.from(scale) };
}

/**
 * RMSNorm over the last axis of [rows, width] `input`: `input / sqrt(mean(input^2) + epsilon) * weight`.
 *
 * Without gradients and with at most {@link smallRowLimit} rows (incremental decoding), the
 * normalisation runs in one JavaScript pass, which beats six kernel dispatches. Otherwise, where
 * codestack's wasm kernels are bound, one fused kernel each way ({@link fusedRmsNorm}); elsewhere
 * tfjs ops.
 */
export function rmsNorm(tf: TensorFlow, input: Tensor2D, weight: Tensor, epsilon: number, differentiable = true): Tensor2D {
  const [rows, width] = input.shape;
  if (!differentiable && rows <= smallRowLimit) {
    const output = new Float32Array(rows * width);
    rmsNormRows(input.dataSync() as Float32Array, weight.dataSync() as Float32Array, rows, width, epsilon, output);
    return tf.tensor2d(output, [rows, width]);
  }
  const fused = fusedRmsNorm(tf, input, weight, epsilon, differentiable);
  if (fused !== undefined) return fused;
  const meanSquare = tf.mean(tf.square(input), -1, true);
  return tf.mul(tf.mul(input, tf.rsqrt(tf.add(meanSquare, epsilon))), weight) as Tensor2D;
}
