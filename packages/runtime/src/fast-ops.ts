import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from './runtime.js';

type Tensor = tfCore.Tensor;
type Tensor2D = tfCore.Tensor2D;
type Tensor3D = tfCore.Tensor3D;
type GradientPair = (a: Tensor2D, b: Tensor2D) => Tensor2D;

const matMulCache = new WeakMap<TensorFlow, GradientPair>();

/**
 * `a @ b` for 2-D tensors with a custom gradient that never uses `transposeA`/`transposeB`.
 *
 * On tfjs-wasm a transposed matMul runs 10-45x slower than a plain one, and tfjs's own matMul
 * gradient uses transposed matMuls. Here the gradients are `dy @ transpose(b)` and
 * `transpose(a) @ dy`, with explicit (cheap) transposes.
 */
export function matMul2d(tf: TensorFlow, a: Tensor2D, b: Tensor2D): Tensor2D {
  let operation = matMulCache.get(tf);
  if (operation === undefined) {
    operation = tf.customGrad(((left: Tensor2D, right: Tensor2D, save: (tensors: Tensor[]) => void) => {
      save([left, right]);
      return {
        value: tf.matMul(left, right),
        gradFunc: (dy: Tensor2D, saved: Tensor[]) => {
          const [savedLeft, savedRight] = saved as [Tensor2D, Tensor2D];
          return [tf.matMul(dy, tf.transpose(savedRight)), tf.matMul(tf.transpose(savedLeft), dy)];
        },
      };
    }) as never) as unknown as GradientPair;
    matMulCache.set(tf, operation);
  }
  return operation(a, b);
}

/**
 * Batched `a @ b` for 3-D tensors ([n, m, k] @ [n, k, p]) as `n` plain 2-D matMuls.
 * tfjs-wasm's batched matMul runs about 10x slower than its 2-D one for attention-sized inputs.
 */
export function batchedMatMul(tf: TensorFlow, a: Tensor3D, b: Tensor3D): Tensor3D {
  const count = a.shape[0];
  if (count === 1) {
    const product = matMul2d(tf, tf.squeeze(a, [0]) as Tensor2D, tf.squeeze(b, [0]) as Tensor2D);
    return tf.expandDims(product, 0) as Tensor3D;
  }
  const lefts = tf.unstack(a) as Tensor2D[];
  const rights = tf.unstack(b) as Tensor2D[];
  return tf.stack(lefts.map((left, index) => matMul2d(tf, left, rights[index] as Tensor2D))) as Tensor3D;
}

/**
 * Looks up rows of `table` ([vocabulary, width]) for `ids` (int32, any shape [n]).
 *
 * The gradient is a scatter-add done in JavaScript, because tfjs-wasm lacks the
 * `UnsortedSegmentSum` kernel that `tf.gather`'s gradient needs.
 */
export function embeddingLookup(tf: TensorFlow, table: Tensor2D, ids: tfCore.Tensor1D): Tensor2D {
  // Read the ids now: intermediate tensors of the forward pass are gone when the gradient runs.
  const indices = Int32Array.from(ids.dataSync() as Int32Array);
  const operation = tf.customGrad(((weights: Tensor2D, save: (tensors: Tensor[]) => void) => {
    save([]);
    return {
      value: tf.gather(weights, ids),
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
