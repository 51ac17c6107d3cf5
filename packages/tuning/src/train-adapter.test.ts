import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { AbortedError, InvalidArgumentError } from '@codestack/core';
import { Adapter } from './adapter.js';
import { evaluatePerplexity } from './evaluate-perplexity.js';
import { trainAdapter } from './train-adapter.js';
import { adapterDifference, patternSequences, testRuntime, tinyModel, weightBytes, removeTemporaryDirectories, temporaryDirectory } from './test-support.js';

afterAll(removeTemporaryDirectories);

function collectLines(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      text += String(chunk);
      callback();
    },
  });
  return { stream, lines: () => text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('trainAdapter', () => {
  const data = { sequences: patternSequences(24, 33) };

  it('lowers the loss while every base weight stays bit-identical, and reports JSON progress', async () => {
    const model = await tinyModel(4);
    const before = weightBytes(model);
    const adapter = Adapter.create(model, { method: 'lora', r: 4, alpha: 8, dropout: 0.05, targetModules: 'all-linear', layers: 'all' }, { seed: 1 });
    const startLoss = (await evaluatePerplexity({ model, adapter, data, sequenceLength: 16 })).loss;
    const progress = collectLines();
    const result = await trainAdapter({ model, adapter, data, steps: 30, batchSize: 4, sequenceLength: 16, learningRate: 1e-2, warmupSteps: 3, json: true, stream: progress.stream });
    const endLoss = (await evaluatePerplexity({ model, adapter, data, sequenceLength: 16 })).loss;
    expect(endLoss).toBeLessThan(startLoss - 0.3);
    const after = weightBytes(model);
    for (const [name, bytes] of before) expect(Buffer.compare(Buffer.from(bytes), Buffer.from(after.get(name) as Uint8Array)), name).toBe(0);
    expect(model.linearHook).toBeUndefined();
    expect(result.steps).toBe(30);
    expect(result.trainableParameters).toBe(adapter.parameterCount());
    expect(result.trainableShare).toBeGreaterThan(0);
    expect(result.trainableShare).toBeLessThan(0.5);
    expect(result.peakTensorBytes).toBeGreaterThan(0);
    const lines = progress.lines();
    expect(lines.filter((line) => line.event === 'progress')).toHaveLength(30);
    expect(lines.at(-1)?.event).toBe('finish');
    expect(typeof lines[0]?.loss).toBe('number');
    adapter.dispose();
    model.dispose();
  });

  it('trains IA3 vectors and leaks no tensors over a training step', async () => {
    const runtime = await testRuntime();
    const model = await tinyModel(4);
    const adapter = Adapter.create(model, { method: 'ia3', layers: 'all' });
    const tensors = runtime.tf.memory().numTensors;
    const result = await trainAdapter({ model, adapter, data, steps: 2, sequenceLength: 16, learningRate: 1e-2, silent: true });
    expect(runtime.tf.memory().numTensors).toBe(tensors);
    expect(result.losses).toHaveLength(2);
    const vector = adapter.trainableVariables().values().next().value?.dataSync() as Float32Array;
    expect([...vector].some((value) => value !== 1)).toBe(true);
    adapter.dispose();
    model.dispose();
  });

  it('masks the loss to the completion of prompt→completion pairs', async () => {
    const model = await tinyModel(6);
    const adapter = Adapter.create(model, { method: 'lora', r: 4, layers: 'all', targetModules: 'all-linear' });
    // Every prompt differs, every completion is the same: only the completion can be learned.
    const pairs = patternSequences(16, 8, 40, 11).map((prompt) => ({ prompt, completion: [7, 7, 7, 7, 7, 7] }));
    const before = await evaluatePerplexity({ model, adapter, data: { pairs }, sequenceLength: 16 });
    await trainAdapter({ model, adapter, data: { pairs }, steps: 25, sequenceLength: 16, learningRate: 2e-2, silent: true });
    const after = await evaluatePerplexity({ model, adapter, data: { pairs }, sequenceLength: 16 });
    expect(after.tokens).toBe(16 * 6);
    expect(after.loss).toBeLessThan(before.loss / 2);
    // The prompt tokens were not learned: on whole sequences the loss stays far above the completion loss.
    const whole = await evaluatePerplexity({ model, adapter, data: { sequences: pairs.map((pair) => [...pair.prompt, ...pair.completion]) }, sequenceLength: 16 });
    expect(whole.loss).toBeGreaterThan(after.loss + 0.5);
    adapter.dispose();
    model.dispose();
  });

  it('resumes from its checkpoint to the same adapter as an uninterrupted run', async () => {
    const options = { data, sequenceLength: 16, learningRate: 1e-2, warmupSteps: 2, silent: true, seed: 3 } as const;
    const straightModel = await tinyModel(4);
    const straight = Adapter.create(straightModel, { method: 'lora', r: 2 }, { seed: 8 });
    const uninterrupted = await trainAdapter({ ...options, model: straightModel, adapter: straight, steps: 6 });

    const directory = await temporaryDirectory();
    const model = await tinyModel(4);
    const first = Adapter.create(model, { method: 'lora', r: 2 }, { seed: 8 });
    const controller = new AbortController();
    const progress = collectLines();
    const stream = new Writable({
      write(chunk, encoding, callback) {
        if (String(chunk).includes('"completed":4')) controller.abort();
        progress.stream.write(chunk, encoding, callback);
      },
    });
    await expect(
      trainAdapter({ ...options, silent: false, json: true, stream, model, adapter: first, steps: 6, checkpointDirectory: directory, checkpointEvery: 2, signal: controller.signal }),
    ).rejects.toSatisfy((error) => AbortedError.isInstance(error));
    first.dispose();
    const second = Adapter.create(model, { method: 'lora', r: 2 }, { seed: 99 });
    const resumed = await trainAdapter({ ...options, model, adapter: second, steps: 6, checkpointDirectory: directory });
    expect(resumed.startStep).toBe(4);
    expect(resumed.losses).toEqual(uninterrupted.losses.slice(4));
    expect(adapterDifference(second, straight)).toBe(0);
    // One checkpoint format: the runtime trainer's, holding only the adapter's variables.
    expect((await readdir(directory)).sort()).toEqual(['codestack-manifest.json', 'optimizer.safetensors', 'trainable.safetensors', 'trainer-state.json']);
    straight.dispose();
    second.dispose();
    straightModel.dispose();
    model.dispose();
  });

  it('accumulates gradients: 2 micro-batches of 2 give the update of one batch of 4', async () => {
    const model = await tinyModel(4);
    const config = { method: 'lora', r: 2, layers: 'all' } as const;
    const whole = Adapter.create(model, config, { seed: 5 });
    const accumulated = Adapter.create(model, config, { seed: 5 });
    // Every window is full (33 tokens → two windows of 16), so per-batch means weigh windows alike.
    const common = { model, data, steps: 3, sequenceLength: 16, learningRate: 1e-2, silent: true, seed: 4 } as const;
    await trainAdapter({ ...common, adapter: whole, batchSize: 4 });
    await trainAdapter({ ...common, adapter: accumulated, batchSize: 2, accumulationSteps: 2 });
    expect(adapterDifference(accumulated, whole)).toBeLessThan(1e-5);
    const untrained = Adapter.create(model, config, { seed: 5 });
    expect(adapterDifference(whole, untrained)).toBeGreaterThan(1e-3);
    untrained.dispose();
    whole.dispose();
    accumulated.dispose();
    model.dispose();
  });

  it('refuses bad options and data with typed errors', async () => {
    const model = await tinyModel();
    const adapter = Adapter.create(model, { method: 'lora', r: 2 });
    await expect(trainAdapter({ model, adapter, data, steps: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(trainAdapter({ model, adapter, data: { sequences: [[1, 2, 400]] }, steps: 1 })).rejects.toThrow(/outside \[0, 40\)/);
    await expect(trainAdapter({ model, adapter, data, steps: 1, sequenceLength: 64 })).rejects.toThrow(/maximumContext/);
    await expect(trainAdapter({ model, adapter, data, steps: 1, maximumGradientNorm: -1, silent: true })).rejects.toThrow(/maximumGradientNorm/);
    adapter.dispose();
    model.dispose();
  });
});
