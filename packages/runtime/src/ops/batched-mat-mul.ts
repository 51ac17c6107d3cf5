import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { matMul2d } from './mat-mul-2d.js';

type Tensor = tfCore.Tensor;
type Tensor2D = tfCore.Tensor2D;
type Tensor3D = tfCore.Tensor3D;

type BatchedPair = (a: Tensor3D, b: Tensor3D) => Tensor3D;
const batchedCache = new WeakMap<TensorFlow, BatchedPair>();

/**
 * `n` 2-D matMuls of matching slices, gathered in JavaScript. Inside a custom gradient no tape is
 * recorded, so the slices are read out of one `dataSync` and the products written into one
 * buffer: tfjs-wasm's Slice/Pack kernels cost more than the small matMuls themselves.
 */
function perSlice(tf: TensorFlow, left: Tensor3D, right: Tensor3D, transposeLeft: boolean, transposeRight: boolean): Tensor3D {
  const [count, leftRows, leftColumns] = left.shape;
  const [, rightRows, rightColumns] = right.shape;
  const leftValues = left.dataSync() as Float32Array;
  const rightValues = right.dataSync() as Float32Array;
  const outputRows = transposeLeft ? leftColumns : leftRows;
  const outputColumns = transposeRight ? rightRows : rightColumns;
  const output = new Float32Array(count * outputRows * outputColumns);
  // Transposed operands are transposed here, while copying, rather than by one kernel per slice.
  const operand = (values: Float32Array, index: number, rows: number, columns: number, transpose: boolean): Tensor2D => {
    const size = rows * columns;
    const source = values.subarray(index * size, (index + 1) * size);
    if (!transpose) return tf.tensor2d(source, [rows, columns]);
    const transposed = new Float32Array(size);
    for (let row = 0; row < rows; row++) {
      for (let column = 0; column < columns; column++) transposed[column * rows + row] = source[row * columns + column] as number;
    }
    return tf.tensor2d(transposed, [columns, rows]);
  };
  for (let index = 0; index < count; index++) {
    const a = operand(leftValues, index, leftRows, leftColumns, transposeLeft);
    const b = operand(rightValues, index, rightRows, rightColumns, transposeRight);
    const product = tf.matMul(a, b);
    output.set(product.dataSync() as Float32Array, index * outputRows * outputColumns);
    a.dispose();
    b.dispose();
    product.dispose();
  }
  return tf.tensor3d(output, [count, outputRows, outputColumns]);
}

/**
 * Batched `a @ b` for 3-D tensors ([n, m, k] @ [n, k, p]) as `n` plain 2-D matMuls, forward and
 * backward (custom gradient). tfjs-wasm's batched matMul runs about 10x slower than its 2-D one
 * for attention-sized inputs, and its transposed variants slower still.
 */
export function batchedMatMul(tf: TensorFlow, a: Tensor3D, b: Tensor3D, differentiable = true): Tensor3D {
  if (a.shape[0] === 1) {
    const product = matMul2d(tf, tf.reshape(a, [a.shape[1], a.shape[2]]) as Tensor2D, tf.reshape(b, [b.shape[1], b.shape[2]]) as Tensor2D, differentiable);
    return tf.expandDims(product, 0) as Tensor3D;
  }
  // Without gradients and with few rows (incremental decoding), one native batched matMul has
  // the least per-kernel overhead.
  if (!differentiable) return a.shape[1] <= 16 ? tf.matMul(a, b) : perSlice(tf, a, b, false, false);
  let operation = batchedCache.get(tf);
  if (operation === undefined) {
    operation = tf.customGrad(((left: Tensor3D, right: Tensor3D, save: (tensors: Tensor[]) => void) => {
      save([left, right]);
      return {
        value: perSlice(tf, left, right, false, false),
        gradFunc: (dy: Tensor3D, saved: Tensor[]) => {
          const [savedLeft, savedRight] = saved as [Tensor3D, Tensor3D];
          return [perSlice(tf, dy, savedRight, false, true), perSlice(tf, savedLeft, dy, true, false)];
        },
      };
    }) as never) as unknown as BatchedPair;
    batchedCache.set(tf, operation);
  }
  return operation(a, b);
}
