import type * as tfCore from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../backend/runtime.js';
import { SeededRandom } from '../random/seeded-random.js';
import { columnSums, columnSumsKernelName, headsLayout, headsLayoutKernelName } from './layout-kernels.js';
import { parallelElementWork, wasmKernelsFor, type WasmKernels } from './wasm-kernels.js';
import { helperThreadsReady } from '../__fixtures__/numeric-checks.js';

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

describe('headsLayout (codestack wasm kernels)', () => {
  for (const threads of [1, 2]) {
    it(`moves rows to heads and back like reshape and transpose, with the moves back as gradients, as one kernel, on ${threads} thread(s), leaking nothing`, async () => {
      const runtime = await createRuntime({ backend: 'wasm', threads });
      const { tf } = runtime;
      // An odd head (no four-lane run), and one large enough to be split between threads.
      for (const [batch, tokens, heads, head] of [[2, 3, 5, 7], [4, 128, 8, 64]] as const) {
        const rows = tf.randomNormal([batch * tokens, heads * head], 0, 1, 'float32', 8);
        const grouped = tf.randomNormal([batch, heads, tokens, head], 0, 1, 'float32', 9);
        const shape = { batch, tokens, heads, head };
        if (threads > 1 && rows.size >= parallelElementWork) {
          // The first large move starts the helper; wait until it takes calls.
          tf.dispose(headsLayout(tf, rows, shape, true, false) as tfCore.Tensor);
          const kernels = wasmKernelsFor(tf);
          expect(await helperThreadsReady(kernels as WasmKernels, threads)).toBe(threads);
        }
        const before = tf.memory().numTensors;
        const profile = await tf.profile(() => {
          tf.dispose(headsLayout(tf, rows, shape, true, false) as tfCore.Tensor);
        });
        expect(profile.kernels.map((kernel) => kernel.name)).toEqual([headsLayoutKernelName]);
        const toHeads = headsLayout(tf, rows, shape, true, true) as tfCore.Tensor;
        const expectedHeads = tf.tidy(() => tf.transpose(tf.reshape(rows, [batch, tokens, heads, head]), [0, 2, 1, 3]));
        expect(toHeads.shape).toEqual([batch, heads, tokens, head]);
        expect(Array.from(toHeads.dataSync())).toEqual(Array.from(expectedHeads.dataSync()));
        const toRows = headsLayout(tf, grouped, shape, false, true) as tfCore.Tensor;
        const expectedRows = tf.tidy(() => tf.reshape(tf.transpose(grouped, [0, 2, 1, 3]), [batch * tokens, heads * head]));
        expect(toRows.shape).toEqual([batch * tokens, heads * head]);
        expect(Array.from(toRows.dataSync())).toEqual(Array.from(expectedRows.dataSync()));
        // The gradient of sum(move(x) * u) is u moved back, in x's shape.
        const rowsGradient = tf.grad((x: tfCore.Tensor) => tf.sum(tf.mul(headsLayout(tf, x, shape, true, true) as tfCore.Tensor, grouped)))(rows);
        expect(rowsGradient.shape).toEqual(rows.shape);
        expect(Array.from(rowsGradient.dataSync())).toEqual(Array.from(expectedRows.dataSync()));
        const headsGradient = tf.grad((x: tfCore.Tensor) => tf.sum(tf.mul(headsLayout(tf, x, shape, false, true) as tfCore.Tensor, rows)))(grouped);
        expect(headsGradient.shape).toEqual(grouped.shape);
        expect(Array.from(headsGradient.dataSync())).toEqual(Array.from(expectedHeads.dataSync()));
        tf.dispose([toHeads, expectedHeads, toRows, expectedRows, rowsGradient, headsGradient]);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([rows, grouped]);
      }
      const cpu = await createRuntime({ backend: 'cpu' });
      expect(headsLayout(cpu.tf, cpu.tf.ones([2, 4]), { batch: 1, tokens: 2, heads: 2, head: 2 }, true, false)).toBeUndefined();
      runtime.dispose();
    });
  }
});
