import { afterAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { AbortedError, InvalidArgumentError } from '@codestack/core';
import { loadModel } from '@codestack/runtime';
import { Adapter } from './adapter.js';
import { evaluatePerplexity } from './evaluate-perplexity.js';
import { fineTuneModel } from './fine-tune-model.js';
import { patternSequences, removeTemporaryDirectories, temporaryDirectory, testRuntime, tinyModel, weightBytes } from './test-support.js';

afterAll(removeTemporaryDirectories);

/** A progress stream that aborts `controller` once a line contains `marker`. */
function abortAfter(controller: AbortController, marker: string): Writable {
  return new Writable({
    write(chunk, _encoding, callback) {
      if (String(chunk).includes(marker)) controller.abort();
      callback();
    },
  });
}

describe('fineTuneModel', () => {
  const data = { sequences: patternSequences(24, 33) };

  it('trains every weight, lowers the held-in loss and leaks no tensors', async () => {
    const runtime = await testRuntime();
    const model = await tinyModel(4);
    const before = weightBytes(model);
    const startLoss = (await evaluatePerplexity({ model, data, sequenceLength: 16 })).loss;
    const tensors = runtime.tf.memory().numTensors;
    const result = await fineTuneModel({ model, data, steps: 30, batchSize: 4, sequenceLength: 16, learningRate: 1e-2, warmupSteps: 3, silent: true });
    expect(runtime.tf.memory().numTensors).toBe(tensors);
    const endLoss = (await evaluatePerplexity({ model, data, sequenceLength: 16 })).loss;
    expect(endLoss).toBeLessThan(startLoss - 0.3);
    expect(result.steps).toBe(30);
    let total = 0;
    for (const variable of model.trainableVariables().values()) total += variable.size;
    expect(result.trainableParameters).toBe(total);
    const after = weightBytes(model);
    const changed = [...before].filter(([name, bytes]) => Buffer.compare(Buffer.from(bytes), Buffer.from(after.get(name) as Uint8Array)) !== 0);
    expect(changed.length).toBe(before.size);
    model.dispose();
  });

  it('resumes exactly: 6 steps straight equal 3 steps, checkpoint, and 3 more on a fresh model', async () => {
    const options = { data, steps: 6, batchSize: 2, sequenceLength: 16, learningRate: 1e-2, warmupSteps: 2, weightDecay: 0.01, seed: 5, silent: true } as const;
    const straight = await tinyModel(4);
    const uninterrupted = await fineTuneModel({ ...options, model: straight });

    const directory = await temporaryDirectory();
    const first = await tinyModel(4);
    const controller = new AbortController();
    await expect(
      fineTuneModel({ ...options, model: first, checkpointDirectory: directory, checkpointEvery: 3, signal: controller.signal, silent: false, json: true, stream: abortAfter(controller, '"completed":3') }),
    ).rejects.toSatisfy((error) => AbortedError.isInstance(error));
    const resumedModel = await tinyModel(9);
    const resumed = await fineTuneModel({ ...options, model: resumedModel, checkpointDirectory: directory });
    expect(resumed.startStep).toBe(3);
    expect(resumed.losses).toEqual(uninterrupted.losses.slice(3));
    const expected = weightBytes(straight);
    for (const [name, bytes] of weightBytes(resumedModel)) expect(Buffer.compare(Buffer.from(bytes), Buffer.from(expected.get(name) as Uint8Array)), name).toBe(0);
    // The checkpoint of full fine-tuning is also a loadable model.
    const runtime = await testRuntime();
    const loaded = await loadModel(runtime, directory);
    expect(loaded.config).toEqual(straight.config);
    for (const model of [straight, first, resumedModel, loaded]) model.dispose();
  });

  it('refuses a model that carries an adapter hook', async () => {
    const model = await tinyModel(4);
    const adapter = Adapter.create(model, { method: 'lora', r: 2, layers: 'all' }, { seed: 1 });
    model.linearHook = adapter.hook;
    await expect(fineTuneModel({ model, data, steps: 1, silent: true })).rejects.toSatisfy((error) => InvalidArgumentError.isInstance(error));
    model.linearHook = undefined;
    adapter.dispose();
    model.dispose();
  });
});
