import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from './runtime.js';

type Tensor = tfCore.Tensor;
type Tensor2D = tfCore.Tensor2D;
type Tensor3D = tfCore.Tensor3D;
type GradientPair = (a: Tensor2D, b: Tensor2D) => Tensor2D;

const matMulCache = new WeakMap<TensorFlow, GradientPair>();

/**
 * `a @ b` for 2-D tensors with a custom gradient (or a plain matMul when `differentiable` is false) that never uses `transposeA`/`transposeB`.
 *
 * On tfjs-wasm a transposed matMul runs 10-45x slower than a plain one, and tfjs's own matMul
 * gradient uses transposed matMuls. Here the gradients are `dy @ transpose(b)` and
 * `transpose(a) @ dy`, with explicit (cheap) transposes.
 */
export function matMul2d(tf: TensorFlow, a: Tensor2D, b: Tensor2D, differentiable = true): Tensor2D {
  if (!differentiable) return tf.matMul(a, b);
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
