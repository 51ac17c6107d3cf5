import type * as tfCore from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../backend/runtime.js';
import { embeddingLookup } from '../ops/embedding-lookup.js';
import { SeededRandom } from '../random/seeded-random.js';
import { embeddingGatherKernelName, embeddingScatterKernelName, ownEmbeddingLookup } from './embedding-kernels.js';

describe('embedding lookup on codestack wasm kernels', () => {
  it('gathers the rows and scatter-adds the gradient (repeated indices add up), exactly as in float64, with one kernel each way, leaking nothing', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const [rows, width] = [37, 19];
    const random = new SeededRandom(5);
    const values = Float32Array.from({ length: rows * width }, () => random.nextNormal());
    const table = tf.tensor2d(values, [rows, width]);
    // Every row at most a few times, some twice or more, some never, the edges included.
    const indices = Int32Array.from([0, 36, 5, 5, 17, 0, 36, 5, 2, 30, 11, 11]);
    const upstreamValues = Float32Array.from({ length: indices.length * width }, () => random.nextNormal());
    const upstream = tf.tensor2d(upstreamValues, [indices.length, width]);
    const before = tf.memory().numTensors;
    const ids = tf.tensor1d(indices, 'int32');
    let output: tfCore.Tensor2D | undefined;
    const profile = await tf.profile(() => {
      const gradient = tf.grad((weights: tfCore.Tensor) => {
        const looked = embeddingLookup(tf, weights as tfCore.Tensor2D, ids);
        output = tf.keep(looked.clone());
        return tf.sum(tf.mul(looked, upstream));
      })(table);
      const expected = new Float64Array(rows * width);
      indices.forEach((row, position) => {
        for (let column = 0; column < width; column++) expected[row * width + column] = (expected[row * width + column] as number) + (upstreamValues[position * width + column] as number);
      });
      const got = gradient.dataSync();
      // Each sum adds the same float32 values in the same order as float64 would round them: at most 3 terms here.
      expected.forEach((value, index) => expect(Math.abs((got[index] as number) - value)).toBeLessThan(1e-6));
      gradient.dispose();
      return [];
    });
    const gathered = output!.dataSync();
    indices.forEach((row, position) => expect(Array.from(gathered.subarray(position * width, (position + 1) * width))).toEqual(Array.from(values.subarray(row * width, (row + 1) * width))));
    const names = profile.kernels.map((kernel) => kernel.name);
    expect(names.filter((name) => name === embeddingGatherKernelName)).toHaveLength(1);
    expect(names.filter((name) => name === embeddingScatterKernelName)).toHaveLength(1);
    tf.dispose([output!, ids]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([table, upstream]);
  });

  it('gives the gradients of the JavaScript path (kernels: tfjs), and refuses an index outside the table before any kernel runs', async () => {
    const results: Float32Array[] = [];
    for (const kernels of ['codestack', 'tfjs'] as const) {
      const { tf } = await createRuntime({ backend: 'wasm', kernels });
      const table = tf.tensor2d(Float32Array.from({ length: 64 * 32 }, (_, index) => Math.sin(index)), [64, 32]);
      const ids = tf.tensor1d(Int32Array.from({ length: 200 }, (_, index) => (index * 13) % 64), 'int32');
      const gradient = tf.grad((weights: tfCore.Tensor) => tf.sum(tf.square(embeddingLookup(tf, weights as tfCore.Tensor2D, ids))))(table);
      results.push(gradient.dataSync() as Float32Array);
      const outside = tf.tensor1d([3, 64], 'int32');
      const tensors = tf.memory().numTensors;
      expect(() => embeddingLookup(tf, table, outside)).toThrow(RangeError);
      expect(tf.memory().numTensors).toBe(tensors);
      tf.dispose([table, ids, gradient, outside]);
    }
    expect(Array.from(results[0]!)).toEqual(Array.from(results[1]!));
  });

  it('is not offered off the wasm kernels or for a table that is not float32', async () => {
    const cpu = await createRuntime({ backend: 'cpu' });
    const table = cpu.tf.zeros([4, 3]) as tfCore.Tensor2D;
    expect(ownEmbeddingLookup(cpu.tf, table, Int32Array.from([1]))).toBeUndefined();
    table.dispose();
    const wasm = await createRuntime({ backend: 'wasm' });
    const integers = wasm.tf.zeros([4, 3], 'int32') as tfCore.Tensor2D;
    expect(ownEmbeddingLookup(wasm.tf, integers, Int32Array.from([1]))).toBeUndefined();
    integers.dispose();
  });
});
