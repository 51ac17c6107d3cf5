import { afterAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import { Adapter } from './adapter.js';
import { evaluatePerplexity } from './evaluate-perplexity.js';
import { fineTuneModel } from './fine-tune-model.js';
import { patternSequences, removeTemporaryDirectories, testRuntime, tinyModel, weightBytes } from './test-support.js';

afterAll(removeTemporaryDirectories);

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
