import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import { Adapter } from './adapter.js';
import { combineLoraAdapters } from './combine-adapters.js';
import { IncompatibleAdaptersError } from './incompatible-adapters-error.js';
import { logitsOf, maximumDifference, randomizeAdapter, tinyModel } from './test-support.js';

describe('combineLoraAdapters', () => {
  it('applies exactly the weighted sum of the adapters\' changes', async () => {
    const model = await tinyModel();
    const config = { method: 'lora', r: 3, targetModules: ['q_proj', 'v_proj', 'down_proj'], layers: 'all' } as const;
    const first = Adapter.create(model, { ...config, alpha: 6 }, { name: 'first' });
    const second = Adapter.create(model, { ...config, alpha: 3, useRsLora: true }, { name: 'second' });
    randomizeAdapter(first, 1, 0.1);
    randomizeAdapter(second, 2, 0.1);
    // On one projection the change of each adapter is linear in its B, so compare per projection.
    const input = model.runtime.tf.randomNormal([5, 16], 0, 1, 'float32', 7) as never;
    const weightName = 'model.layers.1.self_attn.q_proj.weight';
    const weight = model.getWeight(weightName);
    const output = model.runtime.tf.matMul(input, weight) as never;
    const context = { layer: 1, projection: 'q_proj', weightName, input, weight, output } as const;
    const delta = (adapter: Adapter): Float32Array =>
      model.runtime.tf.tidy(() => model.runtime.tf.sub(adapter.apply(context), output).dataSync() as Float32Array);
    const combined = combineLoraAdapters(model, [
      { adapter: first, weight: 0.7 },
      { adapter: second, weight: -0.4 },
    ]);
    expect(combined.config.method === 'lora' && combined.config.r).toBe(6);
    const expected = delta(first).map((value, index) => 0.7 * value - 0.4 * (delta(second)[index] as number));
    expect(maximumDifference(delta(combined), expected)).toBeLessThan(1e-5);
    // Weights [1, 0] reproduce the first adapter's logits.
    const only = combineLoraAdapters(model, [
      { adapter: first, weight: 1 },
      { adapter: second, weight: 0 },
    ]);
    model.linearHook = first.hook;
    const firstLogits = logitsOf(model);
    model.linearHook = only.hook;
    expect(maximumDifference(logitsOf(model), firstLogits)).toBeLessThan(1e-5);
    model.linearHook = undefined;
    for (const adapter of [first, second, combined, only]) adapter.dispose();
    model.runtime.tf.dispose([input, output]);
    model.dispose();
  });

  it('refuses adapters of another rank, targets or method, and bad weights', async () => {
    const model = await tinyModel();
    const a = Adapter.create(model, { method: 'lora', r: 2 });
    const b = Adapter.create(model, { method: 'lora', r: 4 });
    const c = Adapter.create(model, { method: 'lora', r: 2, targetModules: ['k_proj'] });
    const d = Adapter.create(model, { method: 'ia3' });
    expect(() => combineLoraAdapters(model, [{ adapter: a, weight: 1 }, { adapter: b, weight: 1 }])).toThrow(IncompatibleAdaptersError);
    expect(() => combineLoraAdapters(model, [{ adapter: a, weight: 1 }, { adapter: c, weight: 1 }])).toThrow(/other modules or layers/);
    expect(() => combineLoraAdapters(model, [{ adapter: d, weight: 1 }])).toThrow(/not a LoRA adapter/);
    expect(() => combineLoraAdapters(model, [{ adapter: a, weight: Number.NaN }])).toThrow(InvalidArgumentError);
    expect(() => combineLoraAdapters(model, [])).toThrow(InvalidArgumentError);
    for (const adapter of [a, b, c, d]) adapter.dispose();
    model.dispose();
  });
});
