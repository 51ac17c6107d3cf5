import type * as tfCore from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../backend/runtime.js';
import type { TensorFlow } from '../backend/tensorflow.js';
import { SeededRandom } from '../random/seeded-random.js';
import { fusedRmsNorm, rmsNormKernelName } from './rms-norm-kernel.js';

/** The tensor path: what rmsNorm runs off these kernels. */
function reference(tf: TensorFlow, input: tfCore.Tensor2D, weight: tfCore.Tensor, epsilon: number): tfCore.Tensor2D {
  return tf.mul(tf.mul(input, tf.rsqrt(tf.add(tf.mean(tf.square(input), -1, true), epsilon))), weight) as tfCore.Tensor2D;
}

function largestDifference(left: ArrayLike<number>, right: ArrayLike<number>): number {
  expect(left.length).toBe(right.length);
  let worst = 0;
  for (let index = 0; index < left.length; index++) worst = Math.max(worst, Math.abs((left[index] as number) - (right[index] as number)));
  return worst;
}

describe('fusedRmsNorm (codestack wasm kernels)', () => {
  for (const [rows, width, spread] of [[1, 1, 1], [3, 5, 2], [7, 37, 0.01], [64, 128, 1], [130, 256, 30]] as const) {
    it(`matches a float64 reference and the tfjs ops, forward and both gradients, for ${rows} x ${width} (spread ${spread}), leaking nothing`, async () => {
      const { tf } = await createRuntime({ backend: 'wasm' });
      const random = new SeededRandom(rows * 1000 + width);
      const input = tf.tensor2d(Float32Array.from({ length: rows * width }, () => random.nextNormal() * spread), [rows, width]);
      const weight = tf.tensor1d(Float32Array.from({ length: width }, () => 1 + random.nextNormal() * 0.3));
      const upstream = tf.tensor2d(Float32Array.from({ length: rows * width }, () => random.nextNormal()), [rows, width]);
      const epsilon = 1e-5;
      const before = tf.memory().numTensors;
      const loss = (normalise: (x: tfCore.Tensor2D, w: tfCore.Tensor) => tfCore.Tensor2D) => (x: tfCore.Tensor, w: tfCore.Tensor) => tf.sum(tf.mul(normalise(x as tfCore.Tensor2D, w), upstream));
      const fused = tf.grads(loss((x, w) => fusedRmsNorm(tf, x, w, epsilon, true) as tfCore.Tensor2D))([input, weight]);
      const plain = tf.grads(loss((x, w) => reference(tf, x, w, epsilon)))([input, weight]);
      const fusedOutput = fusedRmsNorm(tf, input, weight, epsilon, true) as tfCore.Tensor2D;
      // float64 reference of the forward pass
      const values = input.dataSync();
      const scales = weight.dataSync();
      const expected = new Float64Array(rows * width);
      for (let row = 0; row < rows; row++) {
        let sum = 0;
        for (let column = 0; column < width; column++) sum += values[row * width + column]! ** 2;
        const factor = 1 / Math.sqrt(sum / width + epsilon);
        for (let column = 0; column < width; column++) expected[row * width + column] = values[row * width + column]! * factor * scales[column]!;
      }
      expect(largestDifference(fusedOutput.dataSync(), expected)).toBeLessThan(1e-5);
      expect(largestDifference(fused[0]!.dataSync(), plain[0]!.dataSync())).toBeLessThan(1e-4);
      expect(largestDifference(fused[1]!.dataSync(), plain[1]!.dataSync())).toBeLessThan(1e-4 * Math.max(1, rows / 16));
      tf.dispose([...fused, ...plain, fusedOutput]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([input, weight, upstream]);
    });
  }

  it('trains a variable weight through variableGrads, and without gradients returns the same values and keeps nothing', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const input = tf.tensor2d([0.5, -1, 2, 0, 1, -0.5, 3, 0.25], [2, 4]);
    const weight = tf.variable(tf.tensor1d([1, 0.5, -2, 1.5]));
    const before = tf.memory().numTensors;
    const fused = tf.variableGrads(() => tf.sum(tf.square(fusedRmsNorm(tf, input, weight, 1e-5, true) as tfCore.Tensor2D)), [weight]);
    const plain = tf.variableGrads(() => tf.sum(tf.square(reference(tf, input, weight, 1e-5))), [weight]);
    expect(largestDifference(fused.grads[weight.name]!.dataSync(), plain.grads[weight.name]!.dataSync())).toBeLessThan(1e-5);
    expect(fused.value.dataSync()[0]).toBeCloseTo(plain.value.dataSync()[0]!, 5);
    const withGradients = fusedRmsNorm(tf, input, weight, 1e-5, true) as tfCore.Tensor2D;
    const withoutGradients = fusedRmsNorm(tf, input, weight, 1e-5, false) as tfCore.Tensor2D;
    expect(Array.from(withoutGradients.dataSync())).toEqual(Array.from(withGradients.dataSync()));
    tf.dispose([fused.value, plain.value, ...Object.values(fused.grads), ...Object.values(plain.grads), withGradients, withoutGradients]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([input, weight]);
  });

  it('is one kernel in a profile, and is not offered for other shapes or dtypes, on cpu or with kernels: tfjs', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const input = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const weight = tf.tensor1d([1, 1]);
    const profile = await tf.profile(() => tf.tidy(() => fusedRmsNorm(tf, input, weight, 1e-5, true) as tfCore.Tensor2D));
    expect(profile.kernels.map((kernel) => kernel.name).filter((name) => tf.getKernel(name, 'wasm') !== undefined)).toEqual([rmsNormKernelName]);
    expect(fusedRmsNorm(tf, input, tf.tensor1d([1, 1, 1]), 1e-5, true)).toBeUndefined();
    expect(fusedRmsNorm(tf, input, tf.tensor2d([1, 1], [1, 2]), 1e-5, true)).toBeUndefined();
    expect(fusedRmsNorm(tf, tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), weight, 1e-5, true)).toBeUndefined();
    tf.dispose([input, weight]);
    const tfjsOnly = await createRuntime({ backend: 'wasm', kernels: 'tfjs' });
    expect(fusedRmsNorm(tfjsOnly.tf, tfjsOnly.tf.ones([1, 2]) as tfCore.Tensor2D, tfjsOnly.tf.ones([2]), 1e-5, true)).toBeUndefined();
    const cpu = await createRuntime({ backend: 'cpu' });
    expect(fusedRmsNorm(cpu.tf, cpu.tf.ones([1, 2]) as tfCore.Tensor2D, cpu.tf.ones([2]), 1e-5, true)).toBeUndefined();
  });
});
