import { InvalidArgumentError } from '@codestack/core';
import { loadNativeKernels } from '@codestack/native-kernels';
import { describe, expect, it } from 'vitest';
import { createRuntime, type ModuleLoader } from '../backend/runtime.js';
import { forwardAndGradients, maximumDifference, smallModelConfig } from '../__fixtures__/numeric-checks.js';
import { wasmKernelsFor } from './wasm-kernels.js';
import { matMul2d } from '../ops/mat-mul-2d.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LlamaModel } from '../model/llama-model.js';
import { PackedDataset } from '../data/packed-dataset.js';
import { writeTokenShard } from '../data/token-shards.js';
import { Trainer } from '../training/trainer.js';

const load = loadNativeKernels();
const available = load.available;
/** How runtime.device names the products' instruction set here. */
const instructionSetName = load.available && load.kernels.instructionSet === 'avx512' ? 'AVX-512' : 'AVX2, FMA';

/** The default loader, except that @codestack/native-kernels is not installed. */
const withoutNativeKernels: ModuleLoader = async (specifier) => {
  if (specifier === '@codestack/native-kernels') throw Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' });
  return import(specifier);
};

describe('native matrix products (@codestack/native-kernels) on the wasm backend', { timeout: 120000 }, () => {
  it.skipIf(!available)('run every product of a model by default, with the logits and gradients of the WebAssembly kernels (within 1e-5), leaking nothing', async () => {
    const reference = forwardAndGradients(await createRuntime({ backend: 'wasm', nativeKernels: false }));
    for (const threads of [1, 2]) {
      const runtime = await createRuntime({ backend: 'wasm', threads });
      expect(runtime.device.endsWith(`, matrix products native (${instructionSetName})`), runtime.device).toBe(true);
      expect(wasmKernelsFor(runtime.tf)?.nativeProducts).toBeDefined();
      const result = forwardAndGradients(runtime);
      expect(result.leaked).toBe(0);
      expect(maximumDifference(reference.logits, result.logits)).toBeLessThan(1e-5);
      expect([...result.gradients.keys()]).toEqual([...reference.gradients.keys()]);
      for (const [name, gradient] of reference.gradients) expect(maximumDifference(gradient, result.gradients.get(name)!), `${threads} thread(s), ${name}`).toBeLessThan(1e-5);
      runtime.dispose();
    }
  });

  it.skipIf(!available)("run the cached decode step's products (one row each, unpacked in the addon), with the logits of the WebAssembly kernels (within 1e-5)", async () => {
    const decode = async (nativeKernels: boolean): Promise<{ logits: Float32Array[]; products: number }> => {
      const runtime = await createRuntime({ backend: 'wasm', nativeKernels });
      const model = LlamaModel.create(runtime, smallModelConfig, { seed: 3 });
      const cache = model.createCache(1);
      model.logits([[5, 9, 2, 77, 31]], cache, { lastPositionOnly: true }).dispose();
      // Counts the one-row products that reach the addon (its kernels object is shared: put back after).
      const native = wasmKernelsFor(runtime.tf)?.nativeProducts;
      const multiply = native?.multiplyMatrices;
      let products = 0;
      if (native !== undefined && multiply !== undefined) {
        native.multiplyMatrices = (array, product) => {
          if (product.rows === 1) products++;
          multiply.call(native, array, product);
        };
      }
      const logits: Float32Array[] = [];
      try {
        for (const token of [7, 60, 3]) {
          const step = model.logits([[token]], cache);
          logits.push(Float32Array.from(await step.data()));
          step.dispose();
        }
      } finally {
        if (native !== undefined && multiply !== undefined) native.multiplyMatrices = multiply;
      }
      cache.dispose();
      model.dispose();
      runtime.dispose();
      return { logits, products };
    };
    const [reference, result] = [await decode(false), await decode(true)];
    // Seven projections a layer and the head, each step.
    expect(result.products).toBe(3 * (smallModelConfig.layers * 7 + 1));
    for (const [step, logits] of reference.logits.entries()) expect(maximumDifference(logits, result.logits[step]!), `step ${step}`).toBeLessThan(1e-5);
  });

  it.skipIf(!available)('on two threads queue the gradients of right operands beside the backward pass: the same bits as one thread, finished before anything reads them', async () => {
    const single = forwardAndGradients(await createRuntime({ backend: 'wasm', threads: 1 }));
    const runtime = await createRuntime({ backend: 'wasm', threads: 2 });
    const queue = () => wasmKernelsFor(runtime.tf)?.nativeProducts?.matrixProductQueue?.() ?? { queued: 0, settled: 0 };
    const before = queue().queued;
    const result = forwardAndGradients(runtime);
    // Every weight's gradient of every projection and of the tied head went through the queue.
    expect(queue().queued - before).toBeGreaterThanOrEqual(2 * 7 + 1);
    expect(result.leaked).toBe(0);
    for (const [name, gradient] of single.gradients) expect(maximumDifference(gradient, result.gradients.get(name)!), name).toBe(0);

    // Read at once, disposed at once: each waits for its product. A product large enough to be running still.
    const { tf } = runtime;
    const tensors = tf.memory().numTensors;
    const x = tf.randomNormal([512, 384], 0, 1, 'float32', 1) as import('@tensorflow/tfjs-core').Tensor2D;
    const w = tf.randomNormal([384, 640], 0, 1, 'float32', 2) as import('@tensorflow/tfjs-core').Tensor2D;
    const gradientOf = () => tf.grad((weight: import('@tensorflow/tfjs-core').Tensor) => tf.sum(matMul2d(tf, x, weight as import('@tensorflow/tfjs-core').Tensor2D)))(w);
    const expected = tf.tidy(() => tf.matMul(x, tf.ones([512, 640]), true, false));
    // A product of some tens of milliseconds ahead in the queue, so that the next is still waiting when tf.grad returns.
    const [bigX, bigW] = [tf.randomNormal([2048, 1024], 0, 1, 'float32', 3), tf.randomNormal([1024, 1024], 0, 1, 'float32', 4)];
    const backlog = tf.grad((weight: import('@tensorflow/tfjs-core').Tensor) => tf.sum(matMul2d(tf, bigX as import('@tensorflow/tfjs-core').Tensor2D, weight as import('@tensorflow/tfjs-core').Tensor2D)))(bigW);
    const read = gradientOf();
    // The upstream gradient (ones) was freed by tf.grad as it returned; the product holds its memory, so this cannot take it.
    const clobber = tf.fill([512, 640], 3);
    const issued = queue().queued;
    expect(queue().settled).toBeLessThan(issued);
    expect(maximumDifference(read.dataSync() as Float32Array, expected.dataSync() as Float32Array)).toBeLessThan(1e-3);
    // Disposed while queued: the memory is freed only once the product is done, so a tensor made next is not written over.
    gradientOf().dispose();
    const filler = tf.fill([384, 640], 7);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((filler.dataSync() as Float32Array).every((value) => value === 7)).toBe(true);
    expect(queue().settled).toBe(queue().queued);
    tf.dispose([x, w, expected, read, clobber, filler, bigX, bigW, backlog]);
    expect(tf.memory().numTensors).toBe(tensors);
    runtime.dispose();
  });

  it.skipIf(!available)('settle queued gradients through the queue that took them, after a later runtime turns the native products off for the backend', async () => {
    const runtime = await createRuntime({ backend: 'wasm', threads: 2 });
    const { tf } = runtime;
    const native = wasmKernelsFor(tf)!.nativeProducts!;
    const x = tf.randomNormal([512, 384], 0, 1, 'float32', 1) as import('@tensorflow/tfjs-core').Tensor2D;
    const w = tf.randomNormal([384, 640], 0, 1, 'float32', 2) as import('@tensorflow/tfjs-core').Tensor2D;
    const expected = tf.tidy(() => tf.matMul(x, tf.ones([512, 640]), true, false));
    const gradient = tf.grad((weight: import('@tensorflow/tfjs-core').Tensor) => tf.sum(matMul2d(tf, x, weight as import('@tensorflow/tfjs-core').Tensor2D)))(w);
    // Held back, so that the product is surely unfinished when the products are switched off.
    native.pauseQueuedProducts!(true);
    expect(native.matrixProductQueue!().settled).toBeLessThan(native.matrixProductQueue!().queued);
    try {
      await createRuntime({ backend: 'wasm', threads: 2, nativeKernels: false });
      expect(wasmKernelsFor(tf)?.nativeProducts).toBeUndefined();
      // Settling runs the product through the pause.
      expect(maximumDifference(gradient.dataSync() as Float32Array, expected.dataSync() as Float32Array)).toBeLessThan(1e-3);
    } finally {
      native.pauseQueuedProducts!(false);
    }
    tf.dispose([x, w, expected, gradient]);
    runtime.dispose();
  });

  it.skipIf(!available)('train on two threads, queued gradients summed over micro-batches, exactly as on one: the same losses, norms and weights', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'native-queue-'));
    try {
      await writeTokenShard(join(directory, 'train.tokens'), Array.from({ length: 20_000 }, (_, index) => (index * 7919) % 256));
      const runs: { trace: number[]; weight: Float32Array; tensors: number }[] = [];
      for (const threads of [1, 2]) {
        const runtime = await createRuntime({ backend: 'wasm', threads });
        const model = LlamaModel.create(runtime, { vocabularySize: 256, hiddenSize: 128, layers: 2, attentionHeads: 4, keyValueHeads: 2, feedForwardSize: 352, maximumContext: 128, ropeTheta: 10000, normEpsilon: 1e-5, tiedEmbeddings: true }, { seed: 1 });
        const trainer = new Trainer({ model, data: await PackedDataset.open(directory), batchSize: 4, sequenceLength: 64, workers: 1, accumulationSteps: 3, schedule: { peakLearningRate: 1e-3, warmupSteps: 2, totalSteps: 100 } });
        const trace: number[] = [];
        for (let step = 0; step < 3; step++) {
          const result = await trainer.trainStep();
          trace.push(result.loss, result.gradientNorm);
        }
        trainer.dispose();
        runs.push({ trace, weight: model.trainableVariables().get('model.layers.0.mlp.down_proj.weight')!.dataSync() as Float32Array, tensors: runtime.tf.memory().numTensors });
        model.dispose();
        runtime.dispose();
      }
      const [one, two] = runs as [(typeof runs)[0], (typeof runs)[0]];
      expect(two.trace).toEqual(one.trace);
      expect(maximumDifference(one.weight, two.weight)).toBe(0);
      expect(two.tensors).toBe(one.tensors);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('stay off with nativeKernels: false, with kernels: tfjs, and where the package is missing; the runtime works the same', async () => {
    for (const options of [{ nativeKernels: false }, { kernels: 'tfjs' as const }, { loadModule: withoutNativeKernels }]) {
      const runtime = await createRuntime({ backend: 'wasm', ...options });
      expect(runtime.device, JSON.stringify(options)).toBe('WebAssembly (SIMD, 1 thread)');
      expect(wasmKernelsFor(runtime.tf)?.nativeProducts).toBeUndefined();
      const { leaked, logits } = forwardAndGradients(runtime);
      expect(leaked).toBe(0);
      expect(logits.every(Number.isFinite)).toBe(true);
    }
  });

  it('a runtime created later on the same backend decides, as with kernels', async () => {
    const first = await createRuntime({ backend: 'wasm', nativeKernels: false });
    expect(wasmKernelsFor(first.tf)?.nativeProducts).toBeUndefined();
    await createRuntime({ backend: 'wasm' });
    expect(wasmKernelsFor(first.tf)?.nativeProducts !== undefined).toBe(available);
    await createRuntime({ backend: 'wasm', nativeKernels: false });
    expect(wasmKernelsFor(first.tf)?.nativeProducts).toBeUndefined();
  });

  it('refuses a nativeKernels that is not a boolean', async () => {
    await expect(createRuntime({ backend: 'wasm', nativeKernels: 'yes' as unknown as boolean })).rejects.toSatisfy((error: unknown) => InvalidArgumentError.isInstance(error) && (error as InvalidArgumentError).argument === 'nativeKernels');
  });
});
