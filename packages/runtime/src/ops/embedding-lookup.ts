import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { ownEmbeddingLookup } from '../kernels/embedding-kernels.js';

type Tensor = tfCore.Tensor;
type Tensor2D = tfCore.Tensor2D;

/**
 * Looks up rows of `table` ([vocabulary, width]) for `ids` (int32, any shape [n]).
 *
 * The gradient is a scatter-add of our own, because tfjs-wasm lacks the `UnsortedSegmentSum`
 * kernel that `tf.gather`'s gradient needs: where codestack's wasm kernels are bound, both ways
 * run in the backend's memory ({@link ownEmbeddingLookup}); elsewhere in JavaScript over copies.
 */
export function embeddingLookup(tf: TensorFlow, table: Tensor2D, ids: tfCore.Tensor1D, differentiable = true): Tensor2D {
  if (!differentiable) return tf.gather(table, ids);
  // Read the ids now: intermediate tensors of the forward pass are gone when the gradient runs.
  const indices = Int32Array.from(ids.dataSync() as Int32Array);
  const rows = table.shape[0];
  for (const row of indices) if (row < 0 || row >= rows) throw new RangeError(`embedding index ${row} is outside [0, ${rows})`);
  const own = ownEmbeddingLookup(tf, table, indices);
  if (own !== undefined) return own;
  const operation = tf.customGrad(((weights: Tensor2D, save: (tensors: Tensor[]) => void) => {
    save([]);
    // A JavaScript gather: tfjs-wasm's GatherV2 is slow for this shape.
    const width = weights.shape[1];
    const values = weights.dataSync() as Float32Array;
    const gathered = new Float32Array(indices.length * width);
    for (let position = 0; position < indices.length; position++) {
      const row = indices[position] as number;
      gathered.set(values.subarray(row * width, (row + 1) * width), position * width);
    }
    return {
      value: tf.tensor2d(gathered, [indices.length, width]),
      gradFunc: (dy: Tensor2D) => {
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
