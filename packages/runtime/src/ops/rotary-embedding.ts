import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';

type Tensor = tfCore.Tensor;
type Tensor2D = tfCore.Tensor2D;

/**
 * Rotary position embedding (Hugging Face `rotate_half` convention) on a [batch * tokens, heads *
 * head] projection output, as one custom op computed in JavaScript: `x * cos + rotate_half(x) *
 * sin` per head, for positions `offset .. offset + tokens - 1`. `cos`/`sin` are [maximumContext,
 * head / 2] tables; `scale` (default 1) multiplies the result (attention folds 1/sqrt(head) in
 * here). The gradient is the transposed rotation, also in JavaScript.
 */
export function rotaryEmbedding(
  tf: TensorFlow,
  input: Tensor2D,
  options: { batch: number; tokens: number; offset: number; head: number; cos: Float32Array; sin: Float32Array; scale?: number },
  differentiable = true,
): Tensor2D {
  const { batch, tokens, offset, head, cos, sin } = options;
  const scale = options.scale ?? 1;
  const half = head / 2;
  const width = input.shape[1];
  const heads = width / head;
  const apply = (values: Float32Array, direction: 1 | -1): Float32Array => {
    const output = new Float32Array(values.length);
    for (let row = 0; row < batch * tokens; row++) {
      const position = offset + (row % tokens);
      const tableBase = position * half;
      for (let headIndex = 0; headIndex < heads; headIndex++) {
        const base = row * width + headIndex * head;
        for (let index = 0; index < half; index++) {
          const c = (cos[tableBase + index] as number) * scale;
          const s = (sin[tableBase + index] as number) * direction * scale;
          const first = values[base + index] as number;
          const second = values[base + index + half] as number;
          output[base + index] = first * c - second * s;
          output[base + index + half] = second * c + first * s;
        }
      }
    }
    return output;
  };
  if (!differentiable) return tf.tensor2d(apply(input.dataSync() as Float32Array, 1), input.shape);
  const operation = tf.customGrad(((x: Tensor2D, save: (tensors: Tensor[]) => void) => {
    save([]);
    return {
      value: tf.tensor2d(apply(x.dataSync() as Float32Array, 1), x.shape),
      gradFunc: (dy: Tensor2D) => [tf.tensor2d(apply(dy.dataSync() as Float32Array, -1), dy.shape)],
    };
  }) as never) as unknown as (x: Tensor2D) => Tensor2D;
  return operation(input);
}
