import type * as tfCore from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../backend/runtime.js';
import { SeededRandom } from '../random/seeded-random.js';
import { globalNorm } from './gradient-clipping.js';

describe('globalNorm', () => {
  it("reads float32 gradients in place on codestack's wasm kernels, with no kernel or tensor, to float64 accuracy", async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const random = new SeededRandom(11);
    // Sizes around the kernel's four lanes and its 1024-value blocks, one large.
    const sizes = [1, 3, 4, 1027, 4096, 300_001];
    const values = sizes.map((size) => Float32Array.from({ length: size }, () => random.nextNormal() * 3));
    const gradients = new Map<string, tfCore.Tensor>(values.map((array, index) => [`g${index}`, tf.tensor1d(array)]));
    let expected = 0;
    for (const array of values) for (const value of array) expected += value * value;
    const before = tf.memory().numTensors;
    const profile = await tf.profile(() => {
      expect(Math.abs(globalNorm(tf, gradients) - Math.sqrt(expected)) / Math.sqrt(expected)).toBeLessThan(1e-6);
    });
    expect(profile.kernelNames).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
    // An int32 gradient takes the tensor path.
    gradients.set('counts', tf.tensor1d([2, -3], 'int32'));
    expect(Math.abs(globalNorm(tf, gradients) - Math.sqrt(expected + 13)) / Math.sqrt(expected + 13)).toBeLessThan(1e-6);
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([...gradients.values()]);
  });
});
