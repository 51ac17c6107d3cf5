import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type * as tfCore from '@tensorflow/tfjs-core';
import { AbortedError, InvalidArgumentError } from '@codestack/core';
import { expectRefused } from '../__fixtures__/expect-refused.js';
import { createRuntime, type BackendName, type Runtime } from '../backend/runtime.js';
import { LlamaModel } from '../model/llama-model.js';
import { writeTokenShard } from '../data/token-shards.js';
import { PackedDataset } from '../data/packed-dataset.js';
import { Trainer, type TrainerOptions } from './trainer.js';
import { TrainingFailedError } from './training-failed-error.js';
import type { BatchSource, TrainingBatch } from '../data/batch-source.js';
import { AdamW } from './adamw.js';
import { computeGradients } from './compute-gradients.js';
import { crossEntropyLoss } from '../ops/cross-entropy.js';
import { SeededRandom } from '../random/seeded-random.js';
import { loadModel } from '../io/checkpoint.js';
import { tinyConfig } from '../__fixtures__/test-configs.js';

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'trainer-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function writeShards(target: string, count: number, length: number, seed: number): Promise<void> {
  await mkdir(target, { recursive: true });
  const random = new SeededRandom(seed);
  for (let shard = 0; shard < count; shard++) {
    await writeTokenShard(join(target, `shard-${shard}.tokens`), Array.from({ length }, () => random.nextInt(tinyConfig.vocabularySize)));
  }
}

function weightsOf(model: LlamaModel): Map<string, Float32Array> {
  return new Map([...model.weights].map(([name, variable]) => [name, new Float32Array(variable.dataSync() as Float32Array)]));
}

function maximumDifference(left: Map<string, Float32Array>, right: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [name, values] of left) {
    const other = right.get(name)!;
    for (let index = 0; index < values.length; index++) worst = Math.max(worst, Math.abs(values[index]! - other[index]!));
  }
  return worst;
}

async function makeTrainer(runtime: Runtime, overrides: Partial<TrainerOptions> = {}, rowSampling: 'sequential' | 'random' = 'sequential'): Promise<Trainer> {
  const model = LlamaModel.create(runtime, tinyConfig, { seed: 2 });
  const data = await PackedDataset.open(join(directory, 'train'), { seed: 4, vocabularySize: tinyConfig.vocabularySize, rowSampling });
  return new Trainer({ model, data, batchSize: 2, sequenceLength: 16, schedule: { peakLearningRate: 1e-2, warmupSteps: 2, totalSteps: 12 }, ...overrides });
}

function oneBatchLoss(tf: Runtime['tf'], model: LlamaModel, inputs: number[], targets: number[], rows: number): tfCore.Scalar {
  return crossEntropyLoss(tf, model.logitsFlat(tf.tensor2d(inputs, [rows, inputs.length / rows], 'int32')), tf.tensor1d(targets, 'int32'));
}

for (const backend of ['wasm', 'cpu'] as BackendName[]) {
  describe(`training pieces on ${backend}`, () => {
    it('overfit one small batch below loss 0.1 with computeGradients + AdamW, leaking no tensors per step', async () => {
      const runtime = await createRuntime({ backend });
      const { tf } = runtime;
      const model = LlamaModel.create(runtime, tinyConfig, { seed: 1 });
      const random = new SeededRandom(8);
      const tokens = Array.from({ length: 2 * 17 }, () => random.nextInt(48));
      const inputs = [...tokens.slice(0, 16), ...tokens.slice(17, 33)];
      const targets = [...tokens.slice(1, 17), ...tokens.slice(18, 34)];
      const variables = model.trainableVariables();
      const optimizer = new AdamW(tf, { weightDecay: 0 });
      let loss = Infinity;
      let tensorsAfterFirstStep = 0;
      for (let step = 0; step < 120 && loss >= 0.1; step++) {
        const result = computeGradients(tf, variables, () => oneBatchLoss(tf, model, inputs, targets, 2));
        loss = result.loss;
        optimizer.apply(variables, result.gradients, 1e-2);
        for (const gradient of result.gradients.values()) gradient.dispose();
        if (step === 0) tensorsAfterFirstStep = tf.memory().numTensors;
        else expect(tf.memory().numTensors).toBe(tensorsAfterFirstStep);
      }
      expect(loss).toBeLessThan(0.1);
      optimizer.dispose();
      model.dispose();
    });

    it('computes gradients (embedding, attention, feed-forward, norm) that match central finite differences', async () => {
      const runtime = await createRuntime({ backend });
      const { tf } = runtime;
      const model = LlamaModel.create(runtime, { ...tinyConfig, tiedEmbeddings: false }, { seed: 3, initializerRange: 0.3 });
      const inputs = [3, 9, 1, 4, 1, 5, 9, 2];
      const targets = [9, 1, 4, 1, 5, 9, 2, 6];
      const lossValue = (): number => tf.tidy(() => oneBatchLoss(tf, model, inputs, targets, 1).dataSync()[0]!);
      const { gradients } = computeGradients(tf, model.trainableVariables(), () => oneBatchLoss(tf, model, inputs, targets, 1));
      const probes: [string, number][] = [
        ['model.embed_tokens.weight', 9 * 32 + 5],
        ['model.layers.0.self_attn.q_proj.weight', 37],
        ['model.layers.0.self_attn.k_proj.weight', 100],
        ['model.layers.1.self_attn.v_proj.weight', 11],
        ['model.layers.1.mlp.down_proj.weight', 777],
        ['model.layers.0.input_layernorm.weight', 3],
        ['lm_head.weight', 20],
      ];
      for (const [name, index] of probes) {
        const variable = model.getWeight(name);
        const original = variable.dataSync().slice() as Float32Array;
        const step = 1e-2;
        const shifted = (delta: number): number => {
          const values = original.slice();
          values[index] = values[index]! + delta;
          variable.assign(tf.tensor(values, variable.shape));
          return lossValue();
        };
        const numeric = (shifted(step) - shifted(-step)) / (2 * step);
        variable.assign(tf.tensor(original, variable.shape));
        const analytic = gradients.get(name)!.dataSync()[index]!;
        expect(Math.abs(analytic - numeric), name).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
        expect(Math.abs(analytic), name).toBeGreaterThan(1e-5);
      }
      for (const gradient of gradients.values()) gradient.dispose();
      model.dispose();
    });
  });
}

describe('Trainer', () => {
  beforeEach(async () => {
    await writeShards(join(directory, 'train'), 3, 90, 21);
    await writeShards(join(directory, 'eval'), 1, 80, 99);
  });

  it('resumes exactly: N+M steps straight equal N steps, save, load into a fresh model, M steps', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const straight = await makeTrainer(runtime, { accumulationSteps: 2 });
    for (let step = 0; step < 7; step++) await straight.trainStep();
    const expected = weightsOf(straight.model);

    const first = await makeTrainer(runtime, { accumulationSteps: 2 });
    for (let step = 0; step < 4; step++) await first.trainStep();
    const checkpoint = join(directory, 'checkpoint');
    await first.train({ steps: 1, silent: true, checkpointDirectory: checkpoint });
    expect(first.step).toBe(5);
    const resumed = await makeTrainer(runtime, { accumulationSteps: 2 });
    expect(maximumDifference(weightsOf(resumed.model), expected)).toBeGreaterThan(1e-3);
    await resumed.loadCheckpoint(checkpoint);
    expect(resumed.step).toBe(5);
    expect(resumed.optimizer.step).toBe(5);
    for (let step = 0; step < 2; step++) await resumed.trainStep();
    expect(maximumDifference(weightsOf(resumed.model), expected)).toBeLessThan(1e-6);
    // the checkpoint directory is also a loadable model
    const model = await loadModel(runtime, checkpoint);
    expect(model.config).toEqual(tinyConfig);
    for (const trainer of [straight, first, resumed]) {
      trainer.dispose();
      trainer.model.dispose();
    }
    model.dispose();
  });

  it('resumes base training exactly through train({ resume, untilStep }) with random rows, telling the observer', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const straight = await makeTrainer(runtime, { accumulationSteps: 2 }, 'random');
    const expected = await straight.train({ untilStep: 6, silent: true });
    expect(expected.losses).toHaveLength(6);
    expect(expected.startStep).toBe(0);
    expect(expected.peakTensorBytes).toBeGreaterThan(0);

    const checkpoint = join(directory, 'checkpoint');
    const first = await makeTrainer(runtime, { accumulationSteps: 2 }, 'random');
    const firstHalf = await first.train({ untilStep: 3, silent: true, checkpointDirectory: checkpoint, resume: true });
    expect(firstHalf.losses).toEqual(expected.losses.slice(0, 3));
    expect(await Trainer.hasCheckpoint(checkpoint)).toBe(true);
    const state = JSON.parse(await readFile(join(checkpoint, 'trainer-state.json'), 'utf8')) as { dataPosition: { rowRandomState?: number[] } };
    expect(state.dataPosition.rowRandomState).toHaveLength(4);

    const resumed = await makeTrainer(runtime, { accumulationSteps: 2 }, 'random');
    const events: string[] = [];
    const tensors = runtime.tf.memory().numTensors;
    const secondHalf = await resumed.train({
      untilStep: 6,
      silent: true,
      checkpointDirectory: checkpoint,
      checkpointEvery: 2,
      resume: true,
      observer: {
        onResume: ({ step }) => void events.push(`resume ${step}`),
        onStep: ({ step }) => void events.push(`step ${step}`),
        onCheckpoint: ({ step }) => void events.push(`checkpoint ${step}`),
      },
    });
    expect(events).toEqual(['resume 3', 'step 4', 'checkpoint 4', 'step 5', 'step 6', 'checkpoint 6']);
    expect(secondHalf.startStep).toBe(3);
    expect(secondHalf.losses).toEqual(expected.losses.slice(3));
    expect(maximumDifference(weightsOf(resumed.model), weightsOf(straight.model))).toBe(0);
    // Nothing left to do at the end; the run kept no tensors but AdamW's two moments per
    // trained variable (tensors in the backend's memory on the AdamW kernel), released by dispose().
    expect((await resumed.train({ untilStep: 6, silent: true })).losses).toEqual([]);
    const moments = 2 * resumed.optimizer.getState().firstMoments.size;
    expect(moments).toBeGreaterThan(0);
    expect(runtime.tf.memory().numTensors).toBe(tensors + moments);
    resumed.optimizer.dispose();
    expect(runtime.tf.memory().numTensors).toBe(tensors);
    for (const trainer of [straight, first, resumed]) {
      trainer.dispose();
      trainer.model.dispose();
    }
  });

  it('trains on any BatchSource with a custom loss; the default loss refuses masked batches', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const { tf } = runtime;
    const random = new SeededRandom(3);
    let state = random.getState();
    const source: BatchSource<number[]> = {
      async next(batchSize, sequenceLength) {
        const generator = SeededRandom.fromState(state as [number, number, number, number]);
        const size = batchSize * sequenceLength;
        const batch: TrainingBatch = {
          batchSize,
          sequenceLength,
          inputs: Int32Array.from({ length: size }, () => generator.nextInt(tinyConfig.vocabularySize)),
          targets: Int32Array.from({ length: size }, () => generator.nextInt(tinyConfig.vocabularySize)),
          mask: Float32Array.from({ length: size }, (_, index) => (index % sequenceLength >= sequenceLength / 2 ? 1 : 0)),
        };
        state = generator.getState();
        return batch;
      },
      position: () => [...state],
      restore: (position) => void (state = [...position] as typeof state),
    };
    const model = LlamaModel.create(runtime, tinyConfig, { seed: 2 });
    const options = { model, data: source, batchSize: 2, sequenceLength: 8, schedule: () => 1e-2 };
    const refusing = new Trainer(options);
    await expect(refusing.trainStep()).rejects.toSatisfy((error: unknown) => InvalidArgumentError.isInstance(error) && /loss mask/.test((error as Error).message));
    const masked = new Trainer({
      ...options,
      lossFunction: (batch) => {
        const logits = model.logitsFlat(tf.tensor2d(batch.inputs, [batch.batchSize, batch.sequenceLength], 'int32'));
        const picked = tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.tensor1d(batch.targets, 'int32'), tinyConfig.vocabularySize)), -1);
        return tf.div(tf.neg(tf.sum(tf.mul(picked, tf.tensor1d(batch.mask!)))), 8) as tfCore.Scalar;
      },
    });
    const result = await masked.trainStep();
    expect(result.tokens).toBe(8);
    expect(result.loss).toBeGreaterThan(0);
    masked.dispose();
    refusing.dispose();
    model.dispose();
  });

  it('trains data-parallel on a worker thread (built dist) to the same weights as one thread', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const parallel = await makeTrainer(runtime, { workers: 2 });
    const serial = await makeTrainer(runtime);
    for (let step = 0; step < 2; step++) {
      const a = await parallel.trainStep();
      const b = await serial.trainStep();
      expect(a.loss).toBeCloseTo(b.loss, 5);
    }
    expect(maximumDifference(weightsOf(parallel.model), weightsOf(serial.model))).toBeLessThan(1e-5);
    parallel.dispose();
    expect(() => new Trainer({ ...(parallel as unknown as { options: TrainerOptions }).options, workers: 3 })).toThrow(/not divisible/);
  });

  it('averages accumulated micro-batches like one large batch', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const accumulated = await makeTrainer(runtime, { batchSize: 1, accumulationSteps: 2, maximumGradientNorm: 0 });
    const single = await makeTrainer(runtime, { batchSize: 2, accumulationSteps: 1, maximumGradientNorm: 0 });
    const a = await accumulated.trainStep();
    const b = await single.trainStep();
    expect(a.loss).toBeCloseTo(b.loss, 5);
    expect(a.tokens).toBe(b.tokens);
    expect(maximumDifference(weightsOf(accumulated.model), weightsOf(single.model))).toBeLessThan(1e-6);
  });

  it('clips to the maximum gradient norm, follows the schedule, evaluates and logs JSON lines', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const evaluationData = await PackedDataset.open(join(directory, 'eval'), { shuffleShards: false });
    const trainer = await makeTrainer(runtime, { maximumGradientNorm: 0.5, evaluation: { data: evaluationData, every: 2, batches: 2 } });
    const stream = new PassThrough();
    let output = '';
    stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const summary = await trainer.train({ steps: 4, stream, json: true });
    const lines = output.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const progress = lines.filter((line) => line.event === 'progress');
    expect(progress.map((line) => line.completed)).toEqual([1, 2, 3, 4]);
    expect(progress[0]!.learningRate).toBeCloseTo(5e-3, 10);
    expect(progress[1]!.learningRate).toBeCloseTo(1e-2, 10);
    expect(progress.every((line) => typeof line.loss === 'number' && (line.gradientNorm as number) > 0.5)).toBe(true);
    expect(lines.filter((line) => line.event === 'evaluation').map((line) => line.step)).toEqual([2, 4]);
    expect(lines.at(-1)!.event).toBe('finish');
    expect(summary.evaluations).toHaveLength(2);
    expect(summary.evaluations[1]!.loss).toBeLessThan(summary.evaluations[0]!.loss + 0.5);
    // evaluation reads the same batches every time: evaluating twice gives the same loss
    expect(await trainer.evaluate()).toBe(await trainer.evaluate());
  });

  it('aborts between steps with AbortedError and leaks no tensors on abort or on a failed step', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const trainer = await makeTrainer(runtime);
    await trainer.trainStep();
    const before = runtime.tf.memory().numTensors;
    const controller = new AbortController();
    controller.abort();
    await expect(trainer.train({ steps: 3, silent: true, signal: controller.signal })).rejects.toSatisfy((error: unknown) => AbortedError.isInstance(error));
    const failing = new Trainer({
      model: trainer.model,
      data: await PackedDataset.open(join(directory, 'train')),
      batchSize: 1,
      sequenceLength: 8,
      schedule: () => 1e-3,
      lossFunction: (batch) => {
        runtime.tf.tensor(batch.inputs);
        throw new Error('loss exploded');
      },
    });
    await expect(failing.trainStep()).rejects.toSatisfy((error: unknown) => TrainingFailedError.isInstance(error) && /step 0: loss exploded/.test((error as Error).message));
    expect(runtime.tf.memory().numTensors).toBe(before);
    expect(trainer.step).toBe(1);
  });

  it('refuses damaged, missing and mismatched trainer checkpoints', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const trainer = await makeTrainer(runtime);
    await trainer.trainStep();
    const checkpoint = join(directory, 'checkpoint');
    await trainer.saveCheckpoint(checkpoint);
    await expectRefused((await makeTrainer(runtime, { batchSize: 3 })).loadCheckpoint(checkpoint), 'MISMATCHED_FILE', /batchSize is 2/);
    await expectRefused((await makeTrainer(runtime, {}, 'random')).loadCheckpoint(checkpoint), 'MISMATCHED_FILE', /data position does not fit/);
    const optimizerPath = join(checkpoint, 'optimizer.safetensors');
    const optimizer = await readFile(optimizerPath);
    const damaged = new Uint8Array(optimizer);
    damaged[damaged.length - 1] = damaged[damaged.length - 1]! ^ 1;
    await writeFile(optimizerPath, damaged);
    await expectRefused((await makeTrainer(runtime)).loadCheckpoint(checkpoint), 'CORRUPT_FILE', /SHA-256/);
    await writeFile(optimizerPath, optimizer);
    await rm(join(checkpoint, 'trainable.safetensors'));
    await expectRefused((await makeTrainer(runtime)).loadCheckpoint(checkpoint), 'MISSING_FILE', /cannot read/);
    await writeFile(join(checkpoint, 'trainer-state.json'), '{"format":');
    await expectRefused((await makeTrainer(runtime)).loadCheckpoint(checkpoint), 'CORRUPT_FILE', /SHA-256 differs from codestack-manifest/);
    // A checkpoint of an older version has no manifest; its state file is still parsed with care.
    await rm(join(checkpoint, 'codestack-manifest.json'));
    await expectRefused((await makeTrainer(runtime)).loadCheckpoint(checkpoint), 'CORRUPT_FILE', /not valid JSON/);
  });
});
