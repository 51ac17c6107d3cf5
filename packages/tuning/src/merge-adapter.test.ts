import { describe, expect, it } from 'vitest';
import { Adapter } from './adapter.js';
import { evaluatePerplexity } from './evaluate-perplexity.js';
import { AdapterStateError } from './adapter-state-error.js';
import { mergeAdapter, mergedAdapters, unmergeAdapter } from './merge-adapter.js';
import { logitsOf, maximumDifference, randomizeAdapter, testRuntime, tinyModel } from './test-support.js';

function weightDifference(before: Map<string, Float32Array>, model: Awaited<ReturnType<typeof tinyModel>>): number {
  let worst = 0;
  for (const [name, variable] of model.weights) worst = Math.max(worst, maximumDifference(variable.dataSync() as Float32Array, before.get(name) as Float32Array));
  return worst;
}

describe('mergeAdapter / unmergeAdapter', () => {
  for (const config of [
    { method: 'lora', r: 4, alpha: 8, targetModules: 'all-linear', layers: 'all' },
    { method: 'lora', r: 2, useRsLora: true },
    { method: 'ia3', targetModules: 'all-linear', layers: 'all' },
  ] as const) {
    it(`${config.method}${'useRsLora' in config ? ' (rsLoRA)' : ''}: merged logits equal the adapter's within 1e-4, unmerging restores the base within 1e-6`, async () => {
      const runtime = await testRuntime();
      const model = await tinyModel();
      const baseWeights = new Map([...model.weights].map(([name, variable]) => [name, new Float32Array(variable.dataSync() as Float32Array)]));
      const base = logitsOf(model);
      const adapter = Adapter.create(model, config);
      randomizeAdapter(adapter, 12);
      model.linearHook = adapter.hook;
      const adapted = logitsOf(model);
      model.linearHook = undefined;
      expect(maximumDifference(adapted, base)).toBeGreaterThan(1e-2);

      const tensors = runtime.tf.memory().numTensors;
      mergeAdapter(model, adapter);
      expect(mergedAdapters(model)).toEqual([adapter]);
      expect(maximumDifference(logitsOf(model), adapted)).toBeLessThan(1e-4);
      expect(() => mergeAdapter(model, adapter)).toThrow(AdapterStateError);
      expect(() => adapter.dispose()).toThrow(AdapterStateError);
      unmergeAdapter(model, adapter);
      expect(runtime.tf.memory().numTensors).toBe(tensors);
      expect(weightDifference(baseWeights, model)).toBeLessThan(1e-6);
      expect(maximumDifference(logitsOf(model), base)).toBeLessThan(1e-5);
      expect(() => unmergeAdapter(model, adapter)).toThrow(AdapterStateError);
      adapter.dispose();
      model.dispose();
    });
  }

  it('unmerges in reverse order only', async () => {
    const model = await tinyModel();
    const first = Adapter.create(model, { method: 'lora', r: 2 });
    const second = Adapter.create(model, { method: 'ia3' });
    randomizeAdapter(first, 1);
    randomizeAdapter(second, 2);
    mergeAdapter(model, first);
    mergeAdapter(model, second);
    expect(() => unmergeAdapter(model, first)).toThrow(/reverse merge order/);
    // A merged adapter cannot also be applied through its hook by the evaluator.
    await expect(evaluatePerplexity({ model, adapter: first, data: { sequences: [[1, 2, 3]] } })).rejects.toThrow(AdapterStateError);
    unmergeAdapter(model, second);
    unmergeAdapter(model, first);
    expect(mergedAdapters(model)).toEqual([]);
    first.dispose();
    second.dispose();
    model.dispose();
  });
});
