import type * as tfCore from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createRuntime, type BackendName } from '../backend/runtime.js';
import { matMul2d } from './mat-mul-2d.js';
import { maximumDifference } from '../__fixtures__/numeric-checks.js';

/** The largest difference between two tensors' values. */
function tensorDifference(left: tfCore.Tensor, right: tfCore.Tensor): number {
  return maximumDifference(left.dataSync(), right.dataSync());
}

for (const backend of ['wasm', 'cpu'] as BackendName[]) {
  describe(`matMul2d with transposeB on ${backend}`, () => {
    it("gives tfjs's a @ transpose(b), and u b and u^T a as its gradients, leaking nothing", async () => {
      const { tf } = await createRuntime({ backend });
      const a = tf.randomNormal([37, 19], 0, 1, 'float32', 1) as tfCore.Tensor2D;
      const b = tf.randomNormal([53, 19], 0, 1, 'float32', 2) as tfCore.Tensor2D;
      const upstream = tf.randomNormal([37, 53], 0, 1, 'float32', 3);
      const before = tf.memory().numTensors;
      const plain = matMul2d(tf, a, b, false, true);
      const reference = tf.matMul(a, b, false, true);
      expect(plain.shape).toEqual([37, 53]);
      expect(tensorDifference(plain, reference)).toBeLessThan(1e-5);
      const [aGradient, bGradient] = tf.grads((left: tfCore.Tensor, right: tfCore.Tensor) => tf.sum(tf.mul(matMul2d(tf, left as tfCore.Tensor2D, right as tfCore.Tensor2D, true, true), upstream)))([a, b]) as [tfCore.Tensor, tfCore.Tensor];
      // d/da sum((a b^T) * u) = u b; d/db = u^T a.
      const [aReference, bReference] = [tf.matMul(upstream as tfCore.Tensor2D, b), tf.matMul(upstream as tfCore.Tensor2D, a, true, false)];
      expect(aGradient.shape).toEqual([37, 19]);
      expect(bGradient.shape).toEqual([53, 19]);
      expect(tensorDifference(aGradient, aReference)).toBeLessThan(1e-4);
      expect(tensorDifference(bGradient, bReference)).toBeLessThan(1e-4);
      tf.dispose([plain, reference, aGradient, bGradient, aReference, bReference]);
      expect(tf.memory().numTensors).toBe(before);
      if (backend === 'wasm') {
        // codestack's GEMM reads b transposed in place: no transpose kernel, forward or backward.
        const profile = await tf.profile(() => {
          tf.dispose(tf.grads((left: tfCore.Tensor, right: tfCore.Tensor) => tf.sum(matMul2d(tf, left as tfCore.Tensor2D, right as tfCore.Tensor2D, true, true)))([a, b]));
        });
        const names = profile.kernels.map((kernel) => kernel.name);
        expect(names).not.toContain('Transpose');
        expect(names.filter((name) => name === 'CodestackMatMul')).toHaveLength(3);
      }
      tf.dispose([a, b, upstream]);
    });
  });
}
