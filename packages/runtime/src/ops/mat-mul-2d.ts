import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { ownMatMul } from '../kernels/mat-mul-kernel.js';

type Tensor = tfCore.Tensor;
type Tensor2D = tfCore.Tensor2D;
type GradientPair = (a: Tensor2D, b: Tensor2D) => Tensor2D;

const matMulCache = new WeakMap<TensorFlow, Map<boolean, GradientPair>>();

/** `op(a) @ op(b)`: codestack's GEMM where its kernels are bound (see {@link ownMatMul}), else tfjs's matMul after explicit transposes (tidied). */
function product(tf: TensorFlow, a: Tensor2D, b: Tensor2D, transposeA: boolean, transposeB: boolean, queue = false): Tensor2D {
  return ownMatMul(tf, a, b, transposeA, transposeB, queue) ?? tf.tidy(() => tf.matMul(transposeA ? tf.transpose(a) : a, transposeB ? tf.transpose(b) : b));
}

/**
 * `a @ b` for 2-D tensors, or `a @ transpose(b)` with `transposeB` (b is then [n, k]: a tied
 * output head's [vocabulary, hidden] embedding), with a custom gradient (or a plain product when
 * `differentiable` is false) that never uses tfjs's transposed matMul.
 *
 * On tfjs-wasm a transposed matMul runs 10-45x slower than a plain one, and tfjs's own matMul
 * gradient uses transposed matMuls. Here the gradients are `dy @ transpose(b)` and
 * `transpose(a) @ dy` (with `transposeB`, `dy @ b` and `transpose(dy) @ a`): on codestack's wasm
 * kernels all three products are its GEMM, which reads the transposed operands in place while
 * packing them (see `ownMatMul`), so no transpose kernel runs; elsewhere tfjs's matMul after
 * explicit transposes.
 */
export function matMul2d(tf: TensorFlow, a: Tensor2D, b: Tensor2D, differentiable = true, transposeB = false): Tensor2D {
  if (!differentiable) return product(tf, a, b, false, transposeB);
  let operations = matMulCache.get(tf);
  if (operations === undefined) {
    operations = new Map();
    matMulCache.set(tf, operations);
  }
  let operation = operations.get(transposeB);
  if (operation === undefined) {
    operation = tf.customGrad(((left: Tensor2D, right: Tensor2D, save: (tensors: Tensor[]) => void) => {
      save([left, right]);
      return {
        value: product(tf, left, right, false, transposeB),
        gradFunc: (dy: Tensor2D, saved: Tensor[]) => {
          const [savedLeft, savedRight] = saved as [Tensor2D, Tensor2D];
          // The right operand's gradient (a weight's, in a model) is needed by nothing until the
          // optimizer runs: it is queued to run beside the rest of the backward pass.
          return transposeB
            ? [product(tf, dy, savedRight, false, false), product(tf, dy, savedLeft, true, false, true)]
            : [product(tf, dy, savedRight, false, true), product(tf, savedLeft, dy, true, false, true)];
        },
      };
    }) as never) as unknown as GradientPair;
    operations.set(transposeB, operation);
  }
  return operation(a, b);
}
