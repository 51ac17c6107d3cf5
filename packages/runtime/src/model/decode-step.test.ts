import { describe, expect, it } from 'vitest';
import { createRuntime, type BackendName } from '../backend/runtime.js';
import { LlamaModel } from './llama-model.js';
import type { ModelConfig } from './model-config.js';
import { tinyConfig } from '../__fixtures__/test-configs.js';

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
