import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import { Adapter } from './adapter.js';
import { evaluatePerplexity } from './evaluate-perplexity.js';
import { fixedBatch, randomizeAdapter, testRuntime, tinyModel } from './test-support.js';

/** The mean next-token loss computed directly from the model's logits with a log-softmax in JavaScript. */
function referenceLoss(logits: number[][][], sequences: number[][]): { total: number; count: number } {
  let total = 0;
  let count = 0;
  sequences.forEach((sequence, row) => {
    for (let position = 0; position + 1 < sequence.length; position++) {
      const values = logits[row]?.[position] as number[];
      const maximum = Math.max(...values);
      const logSum = maximum + Math.log(values.reduce((sum, value) => sum + Math.exp(value - maximum), 0));
      total += logSum - (values[sequence[position + 1] as number] as number);
      count++;
    }
  });
  return { total, count };
}

describe('evaluatePerplexity', () => {
  it('matches a direct computation from the logits, with and without an adapter, and gives bits per byte', async () => {
    const runtime = await testRuntime();
    const model = await tinyModel();
    const adapter = Adapter.create(model, { method: 'lora', r: 2, layers: 'all' });
    randomizeAdapter(adapter, 6);
    const tensors = runtime.tf.memory().numTensors;
    const plain = await evaluatePerplexity({ model, data: { sequences: fixedBatch }, byteCount: 50 });
    const adapted = await evaluatePerplexity({ model, adapter, data: { sequences: fixedBatch }, byteCount: 50 });
    expect(runtime.tf.memory().numTensors).toBe(tensors);
    expect(model.linearHook).toBeUndefined();

    const baseLogits = model.logits(fixedBatch);
    const base = referenceLoss(baseLogits.arraySync(), fixedBatch);
    baseLogits.dispose();
    model.linearHook = adapter.hook;
    const adapterLogits = model.logits(fixedBatch);
    const withAdapter = referenceLoss(adapterLogits.arraySync(), fixedBatch);
    adapterLogits.dispose();
    model.linearHook = undefined;

    expect(plain.tokens).toBe(18);
    expect(plain.loss).toBeCloseTo(base.total / base.count, 4);
    expect(plain.perplexity).toBeCloseTo(Math.exp(base.total / base.count), 3);
    expect(plain.bitsPerByte).toBeCloseTo(base.total / Math.LN2 / 50, 4);
    expect(adapted.loss).toBeCloseTo(withAdapter.total / withAdapter.count, 4);
    expect(Math.abs(adapted.loss - plain.loss)).toBeGreaterThan(1e-3);
    expect((await evaluatePerplexity({ model, data: { sequences: fixedBatch } })).bitsPerByte).toBeUndefined();
    adapter.dispose();
    model.dispose();
  });

  it('refuses bad options and honours an aborted signal', async () => {
    const model = await tinyModel();
    await expect(evaluatePerplexity({ model, data: { sequences: fixedBatch }, byteCount: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(evaluatePerplexity({ model, data: { sequences: fixedBatch }, batchSize: 0 })).rejects.toThrow(/batchSize/);
    await expect(evaluatePerplexity({ model, data: { sequences: fixedBatch }, signal: AbortSignal.abort() })).rejects.toThrow(/aborted/);
    model.dispose();
  });
});
