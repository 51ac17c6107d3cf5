import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';

type Tensor = tfCore.Tensor;
type Tensor2D = tfCore.Tensor2D;

/**
 * Looks up rows of `table` ([vocabulary, width]) for `ids` (int32, any shape [n]).
 *
 * The gradient is a scatter-add done in JavaScript, because tfjs-wasm lacks the
 * `UnsortedSegmentSum` kernel that `tf.gather`'s gradient needs.
 */
export function embeddingLookup(tf: TensorFlow, table: Tensor2D, ids: tfCore.Tensor1D, differentiable = true): Tensor2D {
  if (!differentiable) return tf.gather(table, ids);
  // Read the ids now: intermediate tensors of the forward pass are gone when the gradient runs.
  const indices = Int32Array.from(ids.dataSync() as Int32Array);
  const operation = tf.customGrad(((weights: Tensor2D, save: (tensors: Tensor[]) => void) => {
    save([]);
    // A JavaScript gather: tfjs-wasm's GatherV2 is slow for this shape.
    const [rows, width] = weights.shape;
    const values = weights.dataSync() as Float32Array;
    const gathered = new Float32Array(indices.length * width);
    for (let position = 0; position < indices.length; position++) {
      const row = indices[position] as number;
      if (row < 0 || row >= rows) throw new RangeError(`embedding index ${row} is outside [0, ${rows})`);
      gathered.set(values.subarray(row * width, (row + 1) * width), position * width);
    }
    return {
      value: tf.tensor2d(gathered, [indices.length, width]),
      gradFunc: (dy: Tensor2D) => {
        const [rows, width] = table.shape;
        const gradient = new Float32Array(rows * width);
        const upstream = dy.dataSync() as Float32Array;
        for (let position = 0; position < indices.length; position++) {
          const target = (indices[position] as number) * width;
          const source = position * width;
          for (let column = 0; column < width; column++) {
            gradient[target + column] = (gradient[target + column] as number) + (upstream[source + column] as number);
          }
        }
        return [tf.tensor2d(gradient, [rows, width])];
      },
    };
  }) as never) as unknown as (weights: Tensor2D) => Tensor2D;
  return operation(table);
}
