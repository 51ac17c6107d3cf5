import type * as tfCore from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../backend/runtime.js';
import { SeededRandom } from '../random/seeded-random.js';
import { columnSums, columnSumsKernelName } from './layout-kernels.js';

const shapes: [number, number][] = [[1, 1], [3, 5], [4, 4], [7, 9], [8, 12], [66, 45], [1024, 128], [128, 1027]];

describe('layout kernels (codestack wasm kernels)', () => {
  it('sums the rows of any matrix like tf.sum within float rounding, leaking nothing', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const random = new SeededRandom(5);
    for (const [rows, columns] of shapes) {
      const x = tf.tensor2d(Float32Array.from({ length: rows * columns }, () => random.nextNormal()), [rows, columns]);
      const before = tf.memory().numTensors;
      const sums = columnSums(tf, x) as tfCore.Tensor1D;
      const expected = tf.sum(x, 0);
      const expectedValues = expected.dataSync();
      sums.dataSync().forEach((value, index) => expect(Math.abs(value - expectedValues[index]!)).toBeLessThan(1e-4 * Math.sqrt(rows)));
      tf.dispose([sums, expected]);
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
    }
  });

  it('runs as one kernel, and leaves other backends to tfjs', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const x = tf.ones([6, 10]) as tfCore.Tensor2D;
    const profile = await tf.profile(() => {
      tf.dispose(columnSums(tf, x) as tfCore.Tensor);
    });
    expect(profile.kernels.map((kernel) => kernel.name)).toEqual([columnSumsKernelName]);
    x.dispose();
    const cpu = await createRuntime({ backend: 'cpu' });
    const y = cpu.tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(columnSums(cpu.tf, y)).toBeUndefined();
  });
});
