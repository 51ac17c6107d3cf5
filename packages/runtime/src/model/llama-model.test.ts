import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import { createRuntime, type BackendName } from '../backend/runtime.js';
import { LlamaModel } from './llama-model.js';
import { tinyConfig } from '../__fixtures__/test-configs.js';
import { maximumDifference } from '../__fixtures__/numeric-checks.js';

for (const backend of ['wasm', 'cpu'] as BackendName[]) {
  describe(`LlamaModel on ${backend}`, () => {
    it('gives the same logits with the KV cache as the full forward, batch 1 and batch 3', async () => {
      const runtime = await createRuntime({ backend });
      const { tf } = runtime;
      for (const config of [tinyConfig, { ...tinyConfig, tiedEmbeddings: false, keyValueHeads: 4 }]) {
        const model = LlamaModel.create(runtime, config, { seed: 7, initializerRange: 0.2 });
        for (const batch of [1, 3]) {
          const sequences = Array.from({ length: batch }, (_, row) => Array.from({ length: 12 }, (_, index) => (index * 7 + row * 5 + 3) % 48));
          const before = tf.memory().numTensors;
          const full = model.logits(sequences);
          const fullValues = full.arraySync();
          full.dispose();
          const cache = model.createCache(batch);
          // a prompt of 5 tokens, then one token at a time
          const prompt = model.logits(sequences.map((row) => row.slice(0, 5)), cache);
          const promptValues = prompt.arraySync();
          prompt.dispose();
          for (let position = 0; position < 5; position++) {
            for (let row = 0; row < batch; row++) {
              expect(maximumDifference(promptValues[row]![position]!, fullValues[row]![position]!)).toBeLessThan(1e-4);
            }
          }
          for (let position = 5; position < 12; position++) {
            const step = model.logits(sequences.map((row) => [row[position]!]), cache);
            const stepValues = step.arraySync();
            step.dispose();
            for (let row = 0; row < batch; row++) {
              expect(maximumDifference(stepValues[row]![0]!, fullValues[row]![position]!)).toBeLessThan(1e-4);
            }
          }
          expect(cache.length).toBe(12);
          cache.dispose();
          expect(tf.memory().numTensors).toBe(before);
        }
        model.dispose();
      }
    });

    it('makes position matter (the rotary embedding is applied) and is causal', async () => {
      const runtime = await createRuntime({ backend });
      const model = LlamaModel.create(runtime, tinyConfig, { seed: 1, initializerRange: 0.2 });
      const a = model.logits([[1, 2, 3, 4]]).arraySync()[0]!;
      const b = model.logits([[1, 2, 3, 9]]).arraySync()[0]!;
      const c = model.logits([[2, 1, 3, 4]]).arraySync()[0]!;
      expect(maximumDifference(a[2]!, b[2]!)).toBe(0);
      expect(maximumDifference(a[3]!, b[3]!)).toBeGreaterThan(1e-3);
      expect(maximumDifference(a[2]!, c[2]!)).toBeGreaterThan(1e-5);
      model.dispose();
    });

    it('sees a reassigned (trained) tied embedding in inference logits', async () => {
      const runtime = await createRuntime({ backend });
      const { tf } = runtime;
      const model = LlamaModel.create(runtime, tinyConfig, { seed: 4, initializerRange: 0.2 });
      const before = model.logits([[3, 1, 4]]).dataSync().slice() as Float32Array;
      const embedding = model.getWeight('model.embed_tokens.weight');
      const tensorsBefore = tf.memory().numTensors;
      tf.tidy(() => embedding.assign(tf.mul(embedding, 1.5)));
      const after = model.logits([[3, 1, 4]]);
      const fresh = LlamaModel.fromWeights(runtime, tinyConfig, model.exportWeights());
      const expected = fresh.logits([[3, 1, 4]]);
      expect(maximumDifference(after.dataSync() as Float32Array, expected.dataSync() as Float32Array)).toBeLessThan(1e-5);
      expect(maximumDifference(after.dataSync() as Float32Array, before)).toBeGreaterThan(1e-3);
      after.dispose();
      expected.dispose();
      fresh.dispose();
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      model.dispose();
    });

    it('refuses bad input with typed errors and leaks nothing', async () => {
      const runtime = await createRuntime({ backend });
      const model = LlamaModel.create(runtime, tinyConfig);
      const before = runtime.tf.memory().numTensors;
      expect(() => model.logits([[1, 48]])).toThrow(InvalidArgumentError);
      expect(() => model.logits([[1, 2], [3]])).toThrow(/same length/);
      expect(() => model.logits([Array.from({ length: 65 }, () => 1)])).toThrow(/maximumContext/);
      expect(() => model.logits([[1]], model.createCache(2))).toThrow(/cache holds 2/);
      expect(runtime.tf.memory().numTensors).toBe(before);
      model.dispose();
    });
  });
}
