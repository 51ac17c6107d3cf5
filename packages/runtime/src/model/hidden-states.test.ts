import { describe, expect, it, vi } from 'vitest';
import { createRuntime } from '../backend/runtime.js';
import { LlamaModel } from './llama-model.js';
import { generate } from '../generation/generate.js';
import type { GenerationStep } from '../generation/generate.js';
import { tinyConfig } from '../__fixtures__/test-configs.js';

function maximumDifference(left: ArrayLike<number>, right: ArrayLike<number>): number {
  expect(left.length).toBe(right.length);
  let worst = 0;
  for (let index = 0; index < left.length; index++) worst = Math.max(worst, Math.abs(left[index]! - right[index]!));
  return worst;
}

describe('LlamaModel.logitsWithHiddenStates', () => {
  it('returns the input of the output head (after the final norm) beside the very same logits, and leaks nothing', async () => {
    const runtime = await createRuntime({ backend: 'cpu' });
    const { tf } = runtime;
    for (const config of [tinyConfig, { ...tinyConfig, tiedEmbeddings: false }]) {
      const model = LlamaModel.create(runtime, config, { seed: 3, initializerRange: 0.2 });
      // A final norm that is not all ones, so the test sees whether the hidden state is taken after it.
      const normWeight = model.getWeight('model.norm.weight');
      const scale = Float32Array.from({ length: config.hiddenSize }, (_, index) => 0.5 + index / config.hiddenSize);
      const scaleTensor = tf.tensor1d(scale);
      normWeight.assign(scaleTensor);
      scaleTensor.dispose();
      const sequences = [
        [1, 5, 9, 13, 17, 21, 25],
        [2, 4, 8, 16, 32, 3, 6],
      ];
      const before = tf.memory().numTensors;
      const plain = model.logits(sequences);
      const plainValues = plain.dataSync().slice();
      plain.dispose();
      const { logits, hiddenStates } = model.logitsWithHiddenStates(sequences);
      expect(hiddenStates.shape).toEqual([2, 7, config.hiddenSize]);
      expect(logits.shape).toEqual([2, 7, config.vocabularySize]);
      const logitValues = logits.dataSync().slice();
      const hidden = Float32Array.from(hiddenStates.dataSync());
      logits.dispose();
      hiddenStates.dispose();
      // The logits are exactly those of the plain forward.
      expect(maximumDifference(logitValues, plainValues)).toBe(0);
      // Manually: hidden @ head gives the logits, and each row divided by the norm weight has unit RMS.
      const head = config.tiedEmbeddings ? model.getWeight('model.embed_tokens.weight').dataSync() : model.getWeight('lm_head.weight').dataSync();
      const headAt = (token: number, dimension: number): number =>
        config.tiedEmbeddings ? head[token * config.hiddenSize + dimension]! : head[dimension * config.vocabularySize + token]!;
      for (let position = 0; position < 14; position++) {
        const row = hidden.subarray(position * config.hiddenSize, (position + 1) * config.hiddenSize);
        const manual = Array.from({ length: config.vocabularySize }, (_, token) => row.reduce((sum, value, dimension) => sum + value * headAt(token, dimension), 0));
        expect(maximumDifference(manual, logitValues.subarray(position * config.vocabularySize, (position + 1) * config.vocabularySize))).toBeLessThan(1e-4);
        const meanSquare = row.reduce((sum, value, dimension) => sum + (value / scale[dimension]!) ** 2, 0) / config.hiddenSize;
        expect(meanSquare).toBeCloseTo(1, 3);
      }
      // The cached decode step gives the hidden state of the full forward at that position.
      const cache = model.createCache(2);
      const prompt = model.logitsWithHiddenStates(sequences.map((row) => row.slice(0, 4)), cache, { lastPositionOnly: true });
      expect(prompt.hiddenStates.shape).toEqual([2, 1, config.hiddenSize]);
      const promptHidden = prompt.hiddenStates.dataSync().slice();
      prompt.logits.dispose();
      prompt.hiddenStates.dispose();
      for (let row = 0; row < 2; row++) {
        const full = hidden.subarray((row * 7 + 3) * config.hiddenSize, (row * 7 + 4) * config.hiddenSize);
        expect(maximumDifference(promptHidden.subarray(row * config.hiddenSize, (row + 1) * config.hiddenSize), full)).toBeLessThan(1e-4);
      }
      for (let position = 4; position < 7; position++) {
        const step = model.logitsWithHiddenStates(sequences.map((row) => [row[position]!]), cache);
        const stepHidden = step.hiddenStates.dataSync().slice();
        step.logits.dispose();
        step.hiddenStates.dispose();
        for (let row = 0; row < 2; row++) {
          const full = hidden.subarray((row * 7 + position) * config.hiddenSize, (row * 7 + position + 1) * config.hiddenSize);
          expect(maximumDifference(stepHidden.subarray(row * config.hiddenSize, (row + 1) * config.hiddenSize), full)).toBeLessThan(1e-4);
        }
      }
      cache.dispose();
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    }
  });
});

describe('LlamaModel.hiddenStates', () => {
  it('gives the hidden states of logitsWithHiddenStates without running the output head, and leaks nothing', async () => {
    const runtime = await createRuntime({ backend: 'cpu' });
    const { tf } = runtime;
    for (const config of [tinyConfig, { ...tinyConfig, tiedEmbeddings: false }]) {
      const model = LlamaModel.create(runtime, config, { seed: 5, initializerRange: 0.2 });
      const sequences = [
        [1, 5, 9, 13, 17, 21, 25, 29, 33, 37, 41, 45, 2, 4, 6, 8],
        [2, 4, 8, 16, 32, 3, 6, 12, 24, 47, 1, 1, 2, 3, 5, 8],
      ];
      const before = tf.memory().numTensors;
      // The output head is fetched by the forward with logits, never by this one.
      const head = vi.spyOn(model as unknown as { outputHead: (differentiable: boolean) => unknown }, 'outputHead');
      const { logits, hiddenStates } = model.logitsWithHiddenStates(sequences);
      const expected = Float32Array.from(hiddenStates.dataSync());
      logits.dispose();
      hiddenStates.dispose();
      expect(head).toHaveBeenCalledTimes(1);
      const alone = model.hiddenStates(sequences);
      expect(alone.shape).toEqual([2, 16, config.hiddenSize]);
      const actual = Float32Array.from(alone.dataSync());
      alone.dispose();
      expect(head).toHaveBeenCalledTimes(1);
      head.mockRestore();
      expect(maximumDifference(actual, expected)).toBe(0);
      // lastPositionOnly and a cache, as with logitsWithHiddenStates.
      const cache = model.createCache(2);
      const last = model.hiddenStates(sequences.map((row) => row.slice(0, 9)), cache, { lastPositionOnly: true });
      expect(last.shape).toEqual([2, 1, config.hiddenSize]);
      const lastValues = last.dataSync().slice();
      last.dispose();
      const step = model.hiddenStates(sequences.map((row) => [row[9]!]), cache);
      const stepValues = step.dataSync().slice();
      step.dispose();
      cache.dispose();
      for (let row = 0; row < 2; row++) {
        for (const [values, position] of [[lastValues, 8], [stepValues, 9]] as const) {
          const full = expected.subarray((row * 16 + position) * config.hiddenSize, (row * 16 + position + 1) * config.hiddenSize);
          expect(maximumDifference(values.subarray(row * config.hiddenSize, (row + 1) * config.hiddenSize), full)).toBeLessThan(1e-4);
        }
      }
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    }
  });
});

describe('generate onStep', () => {
  it('receives each step’s hidden state and raw logits from the forward it already runs, without changing the output or leaking', async () => {
    const runtime = await createRuntime({ backend: 'cpu' });
    const { tf } = runtime;
    const model = LlamaModel.create(runtime, tinyConfig, { seed: 11, initializerRange: 0.3 });
    const prompts = [
      [1, 2, 3],
      [7, 7, 9],
    ];
    const before = tf.memory().numTensors;
    const plain = await generate(model, prompts, { maximumNewTokens: 5 });
    for (const useCache of [true, false]) {
      const steps: GenerationStep[] = [];
      const hooked = await generate(model, prompts, {
        maximumNewTokens: 5,
        useCache,
        onStep: (step) => steps.push({ ...step, previousIds: [...step.previousIds], hiddenState: step.hiddenState.slice(), logits: step.logits.slice() }),
      });
      expect(hooked.map((result) => result.tokens)).toEqual(plain.map((result) => result.tokens));
      expect(steps).toHaveLength(10);
      for (const step of steps) {
        const { logits, hiddenStates } = model.logitsWithHiddenStates([step.previousIds as number[]]);
        const length = step.previousIds.length;
        const expectedHidden = hiddenStates.dataSync().slice((length - 1) * tinyConfig.hiddenSize, length * tinyConfig.hiddenSize);
        const expectedLogits = logits.dataSync().slice((length - 1) * tinyConfig.vocabularySize, length * tinyConfig.vocabularySize);
        logits.dispose();
        hiddenStates.dispose();
        expect(maximumDifference(step.hiddenState, expectedHidden)).toBeLessThan(1e-4);
        expect(maximumDifference(step.logits, expectedLogits)).toBeLessThan(1e-4);
      }
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
