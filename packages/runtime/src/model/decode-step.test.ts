import { describe, expect, it } from 'vitest';
import { createRuntime, type BackendName } from '../backend/runtime.js';
import { InvalidArgumentError } from '@codestack/core';
import { LlamaModel } from './llama-model.js';
import { KeyValueCache } from './key-value-cache.js';
import type { ModelConfig } from './model-config.js';
import { tinyConfig } from '../__fixtures__/test-configs.js';
import { decodeStepTimer } from './decode-step.js';

function maximumDifference(left: Float32Array, right: Float32Array): number {
  let worst = 0;
  for (let index = 0; index < left.length; index++) worst = Math.max(worst, Math.abs((left[index] as number) - (right[index] as number)));
  return worst;
}

const configs: [string, ModelConfig][] = [
  ['llama (tied, grouped-query)', { ...tinyConfig, maximumContext: 300 }],
  ['qwen2 (query/key/value biases, untied)', { ...tinyConfig, maximumContext: 300, tiedEmbeddings: false, architecture: 'qwen2', queryKeyValueBias: true }],
  ['llama with every bias', { ...tinyConfig, maximumContext: 300, queryKeyValueBias: true, attentionOutputBias: true, feedForwardBias: true }],
  ['qwen3 (per-head norms, head size 16)', { ...tinyConfig, maximumContext: 300, architecture: 'qwen3', queryKeyNorm: true, headSize: 16 }],
];

/** Decodes `steps` tokens after a prompt, returning every step's logits and final hidden states. */
function decode(model: LlamaModel, prompts: number[][], steps: number): { logits: Float32Array[]; hidden: Float32Array[] } {
  const cache = model.createCache(prompts.length);
  model.logits(prompts, cache, { lastPositionOnly: true }).dispose();
  const logits: Float32Array[] = [];
  const hidden: Float32Array[] = [];
  for (let step = 0; step < steps; step++) {
    const result = model.logitsWithHiddenStates(
      prompts.map((_, row) => [(step * 11 + row * 7 + 1) % model.config.vocabularySize]),
      cache,
    );
    logits.push(result.logits.dataSync() as Float32Array);
    hidden.push(result.hiddenStates.dataSync() as Float32Array);
    result.logits.dispose();
    result.hiddenStates.dispose();
  }
  expect(cache.length).toBe(prompts[0]!.length + steps);
  cache.dispose();
  return { logits, hidden };
}

for (const backend of ['wasm', 'cpu'] as BackendName[]) {
  describe(`fused decode step on ${backend}`, () => {
    for (const [label, config] of configs) {
      it(`matches the tensor path (a pass-through linear hook) within 1e-5 for ${label}, batch 1 and 2, past the cache's first growth, leaking nothing`, async () => {
        const runtime = await createRuntime({ backend });
        const { tf } = runtime;
        const model = LlamaModel.create(runtime, { ...config, vocabularySize: 48 }, { seed: 5, initializerRange: 0.2 });
        try {
          for (const batch of [1, 2]) {
            // a 120-token prompt and 12 steps cross the initial capacity of 128 positions
            const prompts = Array.from({ length: batch }, (_, row) => Array.from({ length: 120 }, (_, index) => (index * 5 + row * 3 + 2) % 48));
            const before = tf.memory().numTensors;
            const fused = decode(model, prompts, 12);
            expect(tf.memory().numTensors).toBe(before);
            model.linearHook = (context) => context.output;
            const reference = decode(model, prompts, 12);
            model.linearHook = undefined;
            for (let step = 0; step < 12; step++) {
              expect(maximumDifference(fused.logits[step]!, reference.logits[step]!)).toBeLessThan(1e-5);
              expect(maximumDifference(fused.hidden[step]!, reference.hidden[step]!)).toBeLessThan(1e-5);
            }
          }
        } finally {
          model.dispose();
        }
      });
    }

    it('refuses a step past maximumContext with a cache that has no maximum length (public constructor), instead of NaN', async () => {
      const runtime = await createRuntime({ backend });
      const { tf } = runtime;
      const model = LlamaModel.create(runtime, tinyConfig, { seed: 5 });
      const cache = new KeyValueCache(tinyConfig.layers, 1);
      model.logits([Array.from({ length: tinyConfig.maximumContext }, (_, index) => index % tinyConfig.vocabularySize)], cache, { lastPositionOnly: true }).dispose();
      expect(cache.length).toBe(tinyConfig.maximumContext);
      const before = tf.memory().numTensors;
      const ids = tf.tensor2d([[1]], [1, 1], 'int32');
      expect(() => model.logitsFlat(ids, cache, { differentiable: false })).toThrow(InvalidArgumentError);
      expect(() => model.logitsFlat(ids, cache, { differentiable: false })).toThrow(/past maximumContext 64/);
      ids.dispose();
      expect(tf.memory().numTensors).toBe(before);
      cache.dispose();
      model.dispose();
    });

    it('is not taken on a device backend (tfjs-node): the tensor path with a tensor cache gives the same logits', async () => {
      const runtime = await createRuntime({ backend });
      const config = { ...tinyConfig, maximumContext: 300 };
      const model = LlamaModel.create(runtime, config, { seed: 9, initializerRange: 0.2 });
      const fused = decode(model, [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], 4);
      model.dispose();
      // The same kernels, named as tfjs-node names its backend.
      const device = { ...runtime, tf: { ...runtime.tf, getBackend: () => 'tensorflow' } as typeof runtime.tf };
      const deviceModel = LlamaModel.create(device, config, { seed: 9, initializerRange: 0.2 });
      const before = runtime.tf.memory().numTensors;
      const cache = deviceModel.createCache(1);
      deviceModel.logits([[1, 2, 3]], cache).dispose();
      // An array cache would have storage; a tensor cache has none, so the fused step (which needs it) was not taken.
      deviceModel.logits([[4]], cache).dispose();
      expect(cache.length).toBe(4);
      expect(cache.allocatedLength).toBe(0);
      cache.dispose();
      expect(runtime.tf.memory().numTensors).toBe(before);
      const reference = decode(deviceModel, [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], 4);
      deviceModel.dispose();
      for (let step = 0; step < 4; step++) {
        expect(maximumDifference(fused.logits[step]!, reference.logits[step]!)).toBeLessThan(1e-5);
        expect(maximumDifference(fused.hidden[step]!, reference.hidden[step]!)).toBeLessThan(1e-5);
      }
    });

    it('gives the same logits as the cpu backend', async () => {
      const runtime = await createRuntime({ backend });
      const model = LlamaModel.create(runtime, { ...tinyConfig, maximumContext: 300 }, { seed: 9, initializerRange: 0.2 });
      const { logits } = decode(model, [[1, 2, 3, 4, 5]], 4);
      model.dispose();
      const cpu = await createRuntime({ backend: 'cpu' });
      const cpuModel = LlamaModel.create(cpu, { ...tinyConfig, maximumContext: 300 }, { seed: 9, initializerRange: 0.2 });
      cpuModel.linearHook = (context) => context.output;
      const reference = decode(cpuModel, [[1, 2, 3, 4, 5]], 4);
      cpuModel.dispose();
      for (let step = 0; step < 4; step++) expect(maximumDifference(logits[step]!, reference.logits[step]!)).toBeLessThan(1e-5);
    });
  });
}

describe('decodeStepTimer', () => {
  it('on the wasm kernels receives each part of a step while set (seven projections and one attention per layer, one head, one embedding), and nothing once unset', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const model = LlamaModel.create(runtime, { ...tinyConfig, maximumContext: 64 }, { seed: 3 });
    const cache = model.createCache(1);
    model.logits([[1, 2, 3]], cache, { lastPositionOnly: true }).dispose();
    const parts = new Map<string, number[]>();
    decodeStepTimer.record = (part, milliseconds) => parts.set(part, [...(parts.get(part) ?? []), milliseconds]);
    try {
      model.logits([[4]], cache).dispose();
    } finally {
      decodeStepTimer.record = undefined;
    }
    expect(Object.fromEntries([...parts].map(([part, times]) => [part, times.length]))).toEqual({
      'embedding rows': 1,
      'projections (matrix-vector)': 7 * tinyConfig.layers,
      'attention over the cache': tinyConfig.layers,
      'output head': 1,
    });
    // Unset, a step records nothing more.
    model.logits([[5]], cache).dispose();
    expect([...parts.values()].flat()).toHaveLength(2 + 8 * tinyConfig.layers);
    cache.dispose();
    model.dispose();
  });
});
