import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import { Adapter } from './adapter.js';
import { AdapterStateError } from './adapter-state-error.js';
import { logitsOf, maximumDifference, randomizeAdapter, testRuntime, tinyModel } from './test-support.js';

describe('Adapter', () => {
  it('changes nothing when fresh (LoRA zero B, IA3 ones), for every initialisation', async () => {
    const model = await tinyModel();
    const base = logitsOf(model);
    for (const config of [
      { method: 'lora', r: 4, targetModules: 'all-linear', layers: 'all' },
      { method: 'lora', r: 2, initialization: 'gaussian', useRsLora: true },
      { method: 'ia3', targetModules: 'all-linear', layers: 'all' },
    ] as const) {
      const adapter = Adapter.create(model, config, { seed: 5 });
      model.linearHook = adapter.hook;
      expect(maximumDifference(logitsOf(model), base)).toBe(0);
      model.linearHook = undefined;
      adapter.dispose();
    }
    model.dispose();
  });

  it('has A initialised (Kaiming-uniform bound 1/sqrt(in)) and B zero, in memory layouts [in, r] and [r, out]', async () => {
    const model = await tinyModel();
    const adapter = Adapter.create(model, { method: 'lora', r: 4, targetModules: ['q_proj', 'down_proj'], layers: [1] }, { seed: 2 });
    const down = adapter.modules.get('model.layers.1.mlp.down_proj.weight');
    expect(down?.loraA?.shape).toEqual([32, 4]);
    expect(down?.loraB?.shape).toEqual([4, 16]);
    const a = down?.loraA?.dataSync() as Float32Array;
    expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(32));
    expect(new Set(a).size).toBeGreaterThan(100);
    expect([...(down?.loraB?.dataSync() as Float32Array)].every((value) => value === 0)).toBe(true);
    // 2 modules: q (16x4 + 4x16) and down (32x4 + 4x16)
    expect(adapter.parameterCount()).toBe(16 * 4 + 4 * 16 + 32 * 4 + 4 * 16);
    adapter.dispose();
    model.dispose();
  });

  it('adds scale * x A B for LoRA, honours rsLoRA scaling, and can be disabled', async () => {
    const model = await tinyModel();
    const base = logitsOf(model);
    const plain = Adapter.create(model, { method: 'lora', r: 4, alpha: 8 });
    const rs = Adapter.create(model, { method: 'lora', r: 4, alpha: 8, useRsLora: true });
    expect(plain.config.method === 'lora' && plain.config.scale).toBe(2);
    expect(rs.config.method === 'lora' && rs.config.scale).toBe(4);
    randomizeAdapter(plain, 9);
    randomizeAdapter(rs, 9);
    model.linearHook = plain.hook;
    const withPlain = logitsOf(model);
    expect(maximumDifference(withPlain, base)).toBeGreaterThan(1e-3);
    model.linearHook = rs.hook;
    const withRs = logitsOf(model);
    expect(maximumDifference(withRs, withPlain)).toBeGreaterThan(1e-3);
    rs.enabled = false;
    expect(maximumDifference(logitsOf(model), base)).toBe(0);
    model.linearHook = undefined;
    plain.dispose();
    rs.dispose();
    model.dispose();
  });

  it('leaks no tensors across create, forward and dispose, and refuses use after dispose', async () => {
    const runtime = await testRuntime();
    const model = await tinyModel();
    const before = runtime.tf.memory().numTensors;
    const adapter = Adapter.create(model, { method: 'ia3', targetModules: /^(k|v|down)_proj$/ });
    randomizeAdapter(adapter, 1);
    model.linearHook = adapter.hook;
    logitsOf(model);
    model.linearHook = undefined;
    adapter.dispose();
    expect(runtime.tf.memory().numTensors).toBe(before);
    expect(() => adapter.trainableVariables()).toThrow(AdapterStateError);
    model.dispose();
  });

  it('refuses a bad configuration with a typed error', async () => {
    const model = await tinyModel();
    expect(() => Adapter.create(model, { method: 'lora', r: 0 })).toThrow(InvalidArgumentError);
    expect(() => Adapter.create(model, { method: 'lora', layers: [5] })).toThrow(/outside \[0, 3\)/);
    model.dispose();
  });
});
