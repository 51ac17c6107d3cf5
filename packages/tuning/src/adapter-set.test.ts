import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import { Adapter } from './adapter.js';
import { loadAdapter, saveAdapter } from './adapter-files.js';
import { AdapterSet } from './adapter-set.js';
import { AdapterStateError } from './adapter-state-error.js';
import { IncompatibleAdaptersError } from './incompatible-adapters-error.js';
import { mergeAdapter, unmergeAdapter } from './merge-adapter.js';
import { trainAdapter } from './train-adapter.js';
import { logitsOf, maximumDifference, randomizeAdapter, testRuntime, tinyModel, removeTemporaryDirectories, temporaryDirectory } from './test-support.js';

afterAll(removeTemporaryDirectories);

describe('AdapterSet', () => {
  it('hot-swaps adapters per request with the same logits as a fresh load, without touching the base', async () => {
    const runtime = await testRuntime();
    const model = await tinyModel();
    const base = logitsOf(model);
    const root = await temporaryDirectory('tuning-set-');
    const configs = [
      { name: 'style', config: { method: 'lora', r: 4, targetModules: ['q_proj', 'v_proj'] } },
      { name: 'codebase', config: { method: 'lora', r: 2, targetModules: 'all-linear', layers: 'all' } },
      { name: 'scales', config: { method: 'ia3' } },
    ] as const;
    for (const [index, { name, config }] of configs.entries()) {
      const adapter = Adapter.create(model, config);
      randomizeAdapter(adapter, 20 + index);
      await saveAdapter(adapter, model, join(root, name));
      adapter.dispose();
    }
    // Reference logits: each adapter loaded fresh onto the model on its own.
    const fresh = new Map<string, Float32Array>();
    for (const { name } of configs) {
      const adapter = await loadAdapter(model, join(root, name));
      model.linearHook = adapter.hook;
      fresh.set(name, logitsOf(model));
      model.linearHook = undefined;
      adapter.dispose();
    }
    const tensorsBefore = runtime.tf.memory().numTensors;
    const set = new AdapterSet(model);
    for (const { name } of configs) await set.load(name, join(root, name));
    expect(set.names()).toEqual(['style', 'codebase', 'scales']);
    // Requests in an interleaved order: every answer equals the fresh-load answer.
    for (const name of ['codebase', 'style', 'scales', 'style', 'codebase'] as const) {
      expect(set.run(name, () => maximumDifference(logitsOf(model), fresh.get(name) as Float32Array))).toBe(0);
    }
    expect(set.active).toBeUndefined();
    expect(maximumDifference(logitsOf(model), base)).toBe(0);
    set.use('scales');
    expect(maximumDifference(logitsOf(model), fresh.get('scales') as Float32Array)).toBe(0);
    // Disabling the adapter gives the base output; enabling it again restores it.
    set.get('scales').enabled = false;
    expect(maximumDifference(logitsOf(model), base)).toBe(0);
    set.get('scales').enabled = true;
    expect(await set.run('style', async () => logitsOf(model)[0])).toBe(fresh.get('style')?.[0]);
    expect(set.active).toBe('scales');
    set.use(undefined);
    expect(() => set.use('missing')).toThrow(InvalidArgumentError);
    await expect(set.load('style', join(root, 'style'))).rejects.toThrow(/already in the set/);
    set.remove('codebase');
    expect(set.names()).toEqual(['style', 'scales']);
    set.dispose();
    expect(model.linearHook).toBeUndefined();
    expect(runtime.tf.memory().numTensors).toBe(tensorsBefore);
    expect(() => set.use('style')).toThrow(AdapterStateError);
    model.dispose();
  });

  it('leaks no tensors over attach, forward, train step, merge, unmerge and detach', async () => {
    const runtime = await testRuntime();
    const model = await tinyModel();
    const adapter = Adapter.create(model, { method: 'lora', r: 2, dropout: 0.1, targetModules: 'all-linear' });
    const tensors = runtime.tf.memory().numTensors;
    const set = new AdapterSet(model);
    set.add('a', adapter);
    set.use('a');
    logitsOf(model);
    expect(runtime.tf.memory().numTensors).toBe(tensors);
    set.use(undefined);
    await trainAdapter({ model, adapter, data: { sequences: [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]] }, steps: 1, batchSize: 2, sequenceLength: 8, silent: true });
    expect(model.linearHook).toBeDefined();
    expect(runtime.tf.memory().numTensors).toBe(tensors);
    set.use('a');
    const adapted = logitsOf(model);
    set.use(undefined);
    mergeAdapter(model, adapter);
    expect(maximumDifference(logitsOf(model), adapted)).toBeLessThan(1e-4);
    unmergeAdapter(model, adapter);
    expect(runtime.tf.memory().numTensors).toBe(tensors);
    set.detach();
    expect(model.linearHook).toBeUndefined();
    logitsOf(model);
    expect(runtime.tf.memory().numTensors).toBe(tensors);
    set.remove('a');
    expect(adapter.isDisposed).toBe(true);
    model.dispose();
  });

  it('refuses an adapter made for a model of another shape', async () => {
    const model = await tinyModel();
    const small = await tinyModel(1, { ...model.config, hiddenSize: 8, attentionHeads: 2, keyValueHeads: 1 });
    const adapter = Adapter.create(small, { method: 'lora', r: 2 });
    const set = new AdapterSet(model);
    expect(() => set.add('small', adapter)).toThrow(IncompatibleAdaptersError);
    set.dispose();
    adapter.dispose();
    small.dispose();
    model.dispose();
  });
});
