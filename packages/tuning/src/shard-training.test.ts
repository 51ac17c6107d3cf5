import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { AbortedError } from '@codestack/core';
import { PackedDataset, writeTokenShard } from '@codestack/runtime';
import { Adapter } from './adapter.js';
import { evaluatePerplexity } from './evaluate-perplexity.js';
import { trainAdapter } from './train-adapter.js';
import { adapterDifference, patternSequences, tinyModel, weightBytes, removeTemporaryDirectories, temporaryDirectory } from './test-support.js';

afterAll(removeTemporaryDirectories);

async function shards(): Promise<string> {
  const directory = await temporaryDirectory('tuning-shards-');
  const sequences = patternSequences(40, 40);
  await writeTokenShard(join(directory, 'a.tokens'), sequences.slice(0, 20).flat());
  await writeTokenShard(join(directory, 'b.tokens'), sequences.slice(20).flat());
  return directory;
}

describe('trainAdapter on token shards (runtime Trainer)', () => {
  it('trains only the adapter, lowers the loss and resumes exactly from its checkpoint', async () => {
    const data = await shards();
    const options = { sequenceLength: 16, batchSize: 4, learningRate: 2e-2, silent: true } as const;

    const model = await tinyModel(4);
    const before = weightBytes(model);
    const straight = Adapter.create(model, { method: 'lora', r: 4, layers: 'all', targetModules: 'all-linear' }, { seed: 2 });
    const evaluation = { sequences: patternSequences(40, 40) };
    const lossBefore = (await evaluatePerplexity({ model, adapter: straight, data: evaluation, sequenceLength: 16 })).loss;
    const result = await trainAdapter({ ...options, model, adapter: straight, data: await PackedDataset.open(data, { seed: 1 }), steps: 12 });
    expect(result.losses).toHaveLength(12);
    const lossAfter = (await evaluatePerplexity({ model, adapter: straight, data: evaluation, sequenceLength: 16 })).loss;
    expect(lossAfter).toBeLessThan(lossBefore - 0.2);
    for (const [name, bytes] of weightBytes(model)) expect(Buffer.compare(Buffer.from(bytes), Buffer.from(before.get(name) as Uint8Array)), name).toBe(0);

    const checkpoint = await temporaryDirectory('tuning-shard-checkpoint-');
    const first = Adapter.create(model, { method: 'lora', r: 4, layers: 'all', targetModules: 'all-linear' }, { seed: 2 });
    // Interrupt a 12-step run after its step-5 checkpoint.
    const controller = new AbortController();
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        if (String(chunk).includes('"completed":5')) controller.abort();
        callback();
      },
    });
    await expect(
      trainAdapter({ ...options, silent: false, json: true, stream, signal: controller.signal, model, adapter: first, data: await PackedDataset.open(data, { seed: 1 }), steps: 12, checkpointDirectory: checkpoint, checkpointEvery: 5 }),
    ).rejects.toSatisfy((error) => AbortedError.isInstance(error));
    first.dispose();
    const resumedAdapter = Adapter.create(model, { method: 'lora', r: 4, layers: 'all', targetModules: 'all-linear' }, { seed: 77 });
    const resumed = await trainAdapter({ ...options, model, adapter: resumedAdapter, data: await PackedDataset.open(data, { seed: 1 }), steps: 12, checkpointDirectory: checkpoint });
    expect(resumed.startStep).toBe(5);
    expect(resumed.losses).toHaveLength(7);
    expect(adapterDifference(resumedAdapter, straight)).toBe(0);
    straight.dispose();
    resumedAdapter.dispose();
    model.dispose();
  });
});
