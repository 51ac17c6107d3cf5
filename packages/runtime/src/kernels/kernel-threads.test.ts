import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tfCore from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNodeProcess } from '../__fixtures__/run-node-process.js';
import { createRuntime } from '../backend/runtime.js';
import type { TensorFlow } from '../backend/tensorflow.js';
import { SeededRandom } from '../random/seeded-random.js';
import { parallelElementWork, wasmKernelsFor, type WasmKernels } from './wasm-kernels.js';
import { helperThreadsReady } from '../__fixtures__/numeric-checks.js';

interface Product {
  m: number;
  n: number;
  k: number;
  transposeA: boolean;
  transposeB: boolean;
  accumulate: boolean;
}

/**
 * Runs kernels.gemm on fresh operands (A [m, k] or its transpose stored, B likewise) and returns
 * the largest error relative to sum |a||b| of each entry, against a float64 product.
 */
function productError(tf: TensorFlow, kernels: WasmKernels, { m, n, k, transposeA, transposeB, accumulate }: Product, seed: number): number {
  const random = new SeededRandom(seed);
  const fill = (length: number): Float32Array => Float32Array.from({ length }, () => random.nextNormal());
  const aValues = fill(m * k);
  const bValues = fill(k * n);
  const cValues = fill(m * n);
  const a = tf.tensor(aValues, transposeA ? [k, m] : [m, k]);
  const b = tf.tensor(bValues, transposeB ? [n, k] : [k, n]);
  const c = tf.tensor(cValues, [m, n]);
  const aAt = (row: number, inner: number): number => aValues[transposeA ? inner * m + row : row * k + inner] as number;
  const bAt = (inner: number, column: number): number => bValues[transposeB ? column * k + inner : inner * n + column] as number;
  kernels.gemm(m, n, k, kernels.offsetOf(a), transposeA ? 1 : k, transposeA ? m : 1, kernels.offsetOf(b), transposeB ? 1 : n, transposeB ? k : 1, kernels.offsetOf(c), n, accumulate);
  const result = kernels.view(kernels.offsetOf(c), m * n);
  let worst = 0;
  for (let row = 0; row < m; row++) {
    for (let column = 0; column < n; column++) {
      let sum = accumulate ? (cValues[row * n + column] as number) : 0;
      let scale = accumulate ? Math.abs(sum) : 0;
      for (let inner = 0; inner < k; inner++) {
        sum += aAt(row, inner) * bAt(inner, column);
        scale += Math.abs(aAt(row, inner) * bAt(inner, column));
      }
      worst = Math.max(worst, Math.abs((result[row * n + column] as number) - sum) / Math.max(1, scale));
    }
  }
  tf.dispose([a, b, c]);
  return worst;
}

/**
 * A wasm runtime on `threads` threads whose helpers already take calls (a first large product
 * starts them), so that the split kernels a test runs next are shared.
 */
async function runtimeWithHelpers(threads: number): Promise<{ runtime: Awaited<ReturnType<typeof createRuntime>>; tf: TensorFlow; kernels: WasmKernels }> {
  const runtime = await createRuntime({ backend: 'wasm', threads, nativeKernels: false });
  const kernels = wasmKernelsFor(runtime.tf) as WasmKernels;
  if (threads > 1) expect(productError(runtime.tf, kernels, { m: 150, n: 70, k: 300, transposeA: false, transposeB: false, accumulate: false }, 4)).toBeLessThan(1e-6);
  expect(await helperThreadsReady(kernels, threads)).toBe(threads);
  return { runtime, tf: runtime.tf, kernels };
}

const layouts = [
  [false, false, false],
  [true, false, false],
  [false, true, true],
  [true, true, true],
] as const;

describe('WasmKernels.gemm (packed B, rows split between threads)', () => {
  it('matches a float64 product for every layout, accumulating or not, at edge sizes on one thread', async () => {
    const { tf } = await createRuntime({ backend: 'wasm', nativeKernels: false });
    const kernels = wasmKernelsFor(tf) as WasmKernels;
    expect(kernels.threads).toBe(1);
    for (const [m, n, k] of [[1, 1, 1], [3, 5, 7], [4, 8, 8], [13, 29, 17], [64, 70, 256]] as const) {
      for (const [transposeA, transposeB, accumulate] of layouts) {
        expect(productError(tf, kernels, { m, n, k, transposeA, transposeB, accumulate }, m * n + k), `${m}x${k}x${n} ${transposeA} ${transposeB} ${accumulate}`).toBeLessThan(1e-6);
      }
    }
    expect(kernels.gemmThreads).toBe(1);
  });

  it('splits a large product between the calling thread and a helper thread on the threaded build, with the same result, and stops the helper on dispose', async () => {
    const runtime = await createRuntime({ backend: 'wasm', threads: 2, nativeKernels: false });
    const kernels = wasmKernelsFor(runtime.tf) as WasmKernels;
    expect(kernels.shared).toBe(true);
    expect(kernels.threads).toBe(2);
    // The first large product starts the helper; the calling thread does every row until it is up.
    const product: Product = { m: 150, n: 70, k: 300, transposeA: false, transposeB: false, accumulate: false };
    expect(productError(runtime.tf, kernels, product, 1)).toBeLessThan(1e-6);
    expect(await helperThreadsReady(kernels, 2)).toBe(2);
    for (const [transposeA, transposeB, accumulate] of layouts) {
      expect(productError(runtime.tf, kernels, { ...product, transposeA, transposeB, accumulate }, 2), `${transposeA} ${transposeB} ${accumulate}`).toBeLessThan(1e-6);
    }
    // Below the work threshold a product stays on the calling thread; it is still right.
    expect(productError(runtime.tf, kernels, { m: 9, n: 11, k: 13, transposeA: true, transposeB: false, accumulate: true }, 3)).toBeLessThan(1e-6);
    runtime.dispose();
    expect(kernels.gemmThreads).toBe(1);
  });

  it('gives matMul2d, with a helper thread taking rows, the gradients of the single-threaded backend', async () => {
    const gradientsOn = async (threads: number): Promise<Float32Array[]> => {
      const { runtime, tf, kernels } = await runtimeWithHelpers(threads);
      const random = new SeededRandom(5);
      const x = tf.tensor2d(Float32Array.from({ length: 96 * 200 }, () => random.nextNormal()), [96, 200]);
      const w = tf.tensor2d(Float32Array.from({ length: 200 * 120 }, () => random.nextNormal() * 0.1), [200, 120]);
      const { matMul2d } = await import('../ops/mat-mul-2d.js');
      const before = tf.memory().numTensors;
      const gradients = tf.grads((input: tfCore.Tensor, weight: tfCore.Tensor) => tf.sum(tf.square(matMul2d(tf, input as tfCore.Tensor2D, weight as tfCore.Tensor2D))))([x, w]);
      const values = gradients.map((gradient) => gradient.dataSync() as Float32Array);
      tf.dispose(gradients);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, w]);
      runtime.dispose();
      return values;
    };
    const [single, threaded] = [await gradientsOn(1), await gradientsOn(2)];
    for (const [index, expected] of single.entries()) {
      const actual = threaded[index] as Float32Array;
      let worst = 0;
      for (let entry = 0; entry < expected.length; entry++) worst = Math.max(worst, Math.abs((actual[entry] as number) - (expected[entry] as number)) / Math.max(1, Math.abs(expected[entry] as number)));
      expect(worst).toBeLessThan(1e-4);
    }
  });

  it('splits SwiGLU, RMSNorm and AdamW between threads with the one-thread results bit for bit, float arguments included', async () => {
    // Sizes above the split threshold, not multiples of the runs: the last run is a short one.
    const count = parallelElementWork + 1_000 * 4 + 3;
    const [rows, width] = [Math.ceil(parallelElementWork / 259) + 12, 259];
    const outputsOn = async (threads: number): Promise<Float32Array[]> => {
      const { runtime, tf, kernels } = await runtimeWithHelpers(threads);
      const random = new SeededRandom(7);
      const fill = (length: number, scale = 1): tfCore.Tensor => tf.tensor1d(Float32Array.from({ length }, () => random.nextNormal() * scale));
      const [gate, up, upstream] = [fill(count, 4), fill(count), fill(count)];
      const [x, weight] = [fill(rows * width), fill(width)];
      const [value, gradient, first, second] = [fill(count), fill(count), fill(count, 0.1), tf.abs(fill(count, 0.01))];
      const outputs = Array.from({ length: 8 }, (_, index) => tf.zeros([index === 4 ? rows * width : index === 5 ? rows : count]));
      const at = (tensor: tfCore.Tensor): number => kernels.offsetOf(tensor);
      const [out, gateGradient, upGradient, , normed, factors, nextValue, nextFirst] = outputs as tfCore.Tensor[];
      kernels.swiGluForward(count, at(gate), at(up), at(out as tfCore.Tensor));
      kernels.swiGluBackward(count, at(gate), at(up), at(upstream), at(gateGradient as tfCore.Tensor), at(upGradient as tfCore.Tensor));
      kernels.rmsNormForward(rows, width, at(x), at(weight), 1e-5, at(normed as tfCore.Tensor), at(factors as tfCore.Tensor));
      const constants = { gradientScale: 0.75, beta1: 0.9, beta2: 0.95, keep: 0.999, stepSize: 0.003, rootCorrection: 1.3, epsilon: 1e-8 };
      // The second moment is updated in place (next* may be the inputs).
      kernels.adamW(count, at(value), at(gradient), at(first), at(second), constants, at(nextValue as tfCore.Tensor), at(nextFirst as tfCore.Tensor), at(second));
      const values = [...outputs.filter((_, index) => index !== 3), second].map((tensor) => Float32Array.from(tensor.dataSync() as Float32Array));
      tf.dispose([gate, up, upstream, x, weight, value, gradient, first, second, ...outputs]);
      runtime.dispose();
      return values;
    };
    const [single, threaded] = [await outputsOn(1), await outputsOn(2)];
    expect(single.map((values) => values.length)).toEqual([count, count, count, rows * width, rows, count, count, count]);
    for (const [index, expected] of single.entries()) {
      expect(expected.some((value) => value !== 0), `output ${index} was written`).toBe(true);
      const actual = threaded[index] as Float32Array;
      const mismatch = expected.findIndex((value, entry) => !Object.is(value, actual[entry]));
      expect(mismatch, `output ${index}: first differing entry`).toBe(-1);
    }
  });

  it("splits cross-entropy's rows between threads with the one-thread loss, log-sum-exps and gradient bit for bit", async () => {
    // rows * vocabulary above the split threshold; one target below the vocabulary and one past it.
    const [rows, vocabulary] = [257, Math.ceil(parallelElementWork / 257) + 7];
    const outputsOn = async (threads: number): Promise<Float32Array[]> => {
      const { runtime, tf, kernels } = await runtimeWithHelpers(threads);
      const random = new SeededRandom(11);
      const logits = tf.tensor2d(Float32Array.from({ length: rows * vocabulary }, () => random.nextNormal() * 3), [rows, vocabulary]);
      const targets = tf.tensor1d(Int32Array.from({ length: rows }, (_, row) => (row === 5 ? -1 : row === 9 ? vocabulary : random.nextInt(vocabulary))), 'int32');
      const [loss, logSumExp, upstream, gradient] = [tf.zeros([]), tf.zeros([rows]), tf.scalar(0.7), tf.zeros([rows, vocabulary])];
      const at = (tensor: tfCore.Tensor): number => kernels.offsetOf(tensor);
      kernels.crossEntropyForward(rows, vocabulary, at(logits), at(targets), at(loss), at(logSumExp));
      kernels.crossEntropyBackward(rows, vocabulary, at(logits), at(targets), at(logSumExp), at(upstream), at(gradient));
      const values = [loss, logSumExp, gradient].map((tensor) => Float32Array.from(tensor.dataSync() as Float32Array));
      // The mean over the rows in float64, from the logits as given.
      const data = logits.dataSync() as Float32Array;
      const targetIds = targets.dataSync() as Int32Array;
      let expected = 0;
      for (let row = 0; row < rows; row++) {
        const line = data.subarray(row * vocabulary, (row + 1) * vocabulary);
        const maximum = line.reduce((best, value) => Math.max(best, value), -Infinity);
        const logSum = maximum + Math.log(line.reduce((sum, value) => sum + Math.exp(value - maximum), 0));
        const target = targetIds[row] as number;
        if (target >= 0 && target < vocabulary) expected += logSum - (line[target] as number);
      }
      expect(Math.abs((values[0]?.[0] as number) - expected / rows)).toBeLessThan(1e-5);
      expect(Array.from(values[2]?.subarray(5 * vocabulary, 5 * vocabulary + 3) ?? [])).toEqual([0, 0, 0]);
      tf.dispose([logits, targets, loss, logSumExp, upstream, gradient]);
      runtime.dispose();
      return values;
    };
    const [single, threaded] = [await outputsOn(1), await outputsOn(2)];
    for (const [index, expected] of single.entries()) {
      const actual = threaded[index] as Float32Array;
      const mismatch = expected.findIndex((value, entry) => !Object.is(value, actual[entry]));
      expect(mismatch, `output ${index}: first differing entry`).toBe(-1);
    }
  });

  describe('as a guest in the host process', () => {
    const entry = fileURLToPath(new URL('../index.ts', import.meta.url));
    const kernelsEntry = fileURLToPath(new URL('./wasm-kernels.ts', import.meta.url));
    const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
    let directory: string;

    beforeAll(async () => {
      directory = await mkdtemp(join(tmpdir(), 'codestack-kernel-threads-'));
    });

    afterAll(async () => {
      await rm(directory, { recursive: true, force: true });
    });

    it('exits by itself, silently, with a helper thread started and the runtime never disposed', async () => {
      const file = join(directory, 'application.mts');
      await writeFile(
        file,
        `
        import { createRuntime } from ${JSON.stringify(entry)};
        import { wasmKernelsFor } from ${JSON.stringify(kernelsEntry)};
        const runtime = await createRuntime({ backend: 'wasm', threads: 2, nativeKernels: false });
        const kernels = wasmKernelsFor(runtime.tf);
        const a = runtime.tf.ones([256, 256]);
        const c = runtime.tf.zeros([256, 256]);
        kernels.gemm(256, 256, 256, kernels.offsetOf(a), 256, 1, kernels.offsetOf(a), 256, 1, kernels.offsetOf(c), 256, false);
        while (kernels.gemmThreads < 2) await new Promise((resolve) => setTimeout(resolve, 10));
        kernels.gemm(256, 256, 256, kernels.offsetOf(a), 256, 1, kernels.offsetOf(a), 256, 1, kernels.offsetOf(c), 256, false);
        if (kernels.view(kernels.offsetOf(c), 1)[0] !== 256) throw new Error('wrong product');
        `,
      );
      // A hang is killed after 60 s and shows as signal SIGKILL.
      const result = await runNodeProcess(['--import', 'tsx', file], { cwd: packageRoot, timeout: 60000, killSignal: 'SIGKILL' });
      expect(result).toEqual({ code: 0, signal: null, stdout: '', stderr: '' });
    });
  });
});
