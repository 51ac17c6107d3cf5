import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import { createRuntime } from '../backend/runtime.js';
import { LlamaModel } from '../model/llama-model.js';
import { generate } from './generate.js';
import { KnnLogitsProcessor, knnDistribution, type KnnDatastore, type KnnNeighbour } from './knn-logits-processor.js';
import { softmax } from './logits-processors.js';
import { SeededRandom } from '../random/seeded-random.js';
import { tinyConfig } from '../__fixtures__/test-configs.js';

/** An exact datastore: every key compared by squared L2. */
class ExactDatastore implements KnnDatastore {
  readonly queries: Float32Array[] = [];
  constructor(
    private readonly keys: Float32Array[],
    private readonly values: number[],
  ) {}
  search(vector: Float32Array, k: number): KnnNeighbour[] {
    this.queries.push(vector);
    return this.keys
      .map((key, index) => ({ token: this.values[index]!, distance: key.reduce((sum, value, dimension) => sum + (value - vector[dimension]!) ** 2, 0) }))
      .sort((left, right) => left.distance - right.distance)
      .slice(0, k);
  }
}

describe('knnDistribution', () => {
  it('is a softmax over negative distances, summed per token', () => {
    const distribution = knnDistribution([
      { token: 3, distance: 0 },
      { token: 3, distance: 0.5 },
      { token: 5, distance: 1 },
    ]);
    const total = 1 + Math.exp(-0.5) + Math.exp(-1);
    expect(distribution.get(3)).toBeCloseTo((1 + Math.exp(-0.5)) / total, 12);
    expect(distribution.get(5)).toBeCloseTo(Math.exp(-1) / total, 12);
    // A higher temperature flattens.
    expect(knnDistribution([{ token: 1, distance: 0 }, { token: 2, distance: 4 }], 100).get(2)).toBeGreaterThan(0.49);
    expect(knnDistribution([]).size).toBe(0);
  });
});

describe('KnnLogitsProcessor', () => {
  const neighbours: KnnNeighbour[] = [
    { token: 3, distance: 0 },
    { token: 3, distance: 0.5 },
    { token: 5, distance: 1 },
  ];
  const datastore: KnnDatastore = { search: (_vector, k) => neighbours.slice(0, k) };

  it('mixes (1 − λ)·p_model + λ·p_kNN, moving probability to the neighbours’ tokens', () => {
    const logits = new Float32Array(8);
    new KnnLogitsProcessor(datastore, { lambda: 0.5 }).process(logits, [], { hiddenState: new Float32Array(4) });
    const probabilities = softmax(logits);
    const total = 1 + Math.exp(-0.5) + Math.exp(-1);
    expect(probabilities[3]).toBeCloseTo(0.5 / 8 + (0.5 * (1 + Math.exp(-0.5))) / total, 6);
    expect(probabilities[5]).toBeCloseTo(0.5 / 8 + (0.5 * Math.exp(-1)) / total, 6);
    expect(probabilities[0]).toBeCloseTo(0.5 / 8, 6);
    expect(probabilities.reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 9);
    // λ = 0 leaves the distribution as it was; k = 1 sees only the nearest.
    const untouched = Float32Array.from([1, 2, 3, 4]);
    new KnnLogitsProcessor(datastore, { lambda: 0 }).process(untouched, [], { hiddenState: new Float32Array(4) });
    expect(Array.from(softmax(untouched))).toEqual(Array.from(softmax(Float32Array.from([1, 2, 3, 4]))).map((value) => expect.closeTo(value, 6)));
    const nearest = new Float32Array(8);
    new KnnLogitsProcessor(datastore, { lambda: 1, k: 1 }).process(nearest, [], { hiddenState: new Float32Array(4) });
    expect(softmax(nearest)[3]).toBeCloseTo(1, 9);
    expect(nearest[5]).toBe(-Infinity);
  });

  it('refuses bad options, and a step without a hidden state', () => {
    expect(() => new KnnLogitsProcessor(datastore, { lambda: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => new KnnLogitsProcessor(datastore, { k: 0 })).toThrow(InvalidArgumentError);
    expect(() => new KnnLogitsProcessor(datastore, { temperature: 0 })).toThrow(InvalidArgumentError);
    expect(() => new KnnLogitsProcessor(datastore).process(new Float32Array(8), [])).toThrow(/hidden state/);
  });

  it('gets the step’s hidden state from generate, and with λ = 1 decodes the neighbours’ token; nothing leaks', async () => {
    const runtime = await createRuntime({ backend: 'cpu' });
    const { tf } = runtime;
    const model = LlamaModel.create(runtime, tinyConfig, { seed: 2, initializerRange: 0.3 });
    const before = tf.memory().numTensors;
    const store = new ExactDatastore([new Float32Array(tinyConfig.hiddenSize)], [17]);
    const [result] = await generate(model, [[1, 2, 3]], { maximumNewTokens: 4, logitsProcessors: [new KnnLogitsProcessor(store, { lambda: 1 })] });
    expect(result!.tokens).toEqual([17, 17, 17, 17]);
    expect(store.queries).toHaveLength(4);
    for (const query of store.queries) expect(query).toHaveLength(tinyConfig.hiddenSize);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('lowers bits per token on held-out text with the true next tokens, and raises them with shuffled ones', async () => {
    const runtime = await createRuntime({ backend: 'cpu' });
    const { tf } = runtime;
    const model = LlamaModel.create(runtime, tinyConfig, { seed: 9, initializerRange: 0.3 });
    const random = new SeededRandom(4);
    // A "language" where each token has one likely successor: a fixed cycle of 16 tokens, with 10% noise.
    const cycle = Array.from({ length: 16 }, (_, index) => (index * 7 + 5) % tinyConfig.vocabularySize);
    const text = (start: number, length: number): number[] => {
      const ids: number[] = [];
      let position = start;
      for (let index = 0; index < length; index++) {
        ids.push(random.nextFloat() < 0.1 ? Math.floor(random.nextFloat() * tinyConfig.vocabularySize) : cycle[position % cycle.length]!);
        position += 1;
      }
      return ids;
    };
    const forward = (ids: number[]): { hidden: Float32Array; logits: Float32Array } => {
      const { logits, hiddenStates } = model.logitsWithHiddenStates([ids]);
      const result = { hidden: Float32Array.from(hiddenStates.dataSync()), logits: Float32Array.from(logits.dataSync()) };
      logits.dispose();
      hiddenStates.dispose();
      return result;
    };
    const before = tf.memory().numTensors;
    // The datastore: every position of three training texts, keyed by its hidden state, valued by the next token.
    const keys: Float32Array[] = [];
    const values: number[] = [];
    for (const start of [0, 5, 11]) {
      const ids = text(start, 60);
      const { hidden } = forward(ids);
      for (let position = 0; position + 1 < ids.length; position++) {
        keys.push(hidden.slice(position * tinyConfig.hiddenSize, (position + 1) * tinyConfig.hiddenSize));
        values.push(ids[position + 1]!);
      }
    }
    const shuffled = [...values];
    for (let index = shuffled.length - 1; index > 0; index--) {
      const other = Math.floor(random.nextFloat() * (index + 1));
      [shuffled[index], shuffled[other]] = [shuffled[other]!, shuffled[index]!];
    }
    const heldOut = text(3, 50);
    const { hidden, logits } = forward(heldOut);
    const bitsPerToken = (processor: KnnLogitsProcessor | undefined): number => {
      let bits = 0;
      for (let position = 0; position + 1 < heldOut.length; position++) {
        const row = logits.slice(position * tinyConfig.vocabularySize, (position + 1) * tinyConfig.vocabularySize);
        const state = hidden.slice(position * tinyConfig.hiddenSize, (position + 1) * tinyConfig.hiddenSize);
        const probabilities = processor === undefined ? softmax(row) : processor.probabilities(row, state);
        bits -= Math.log2(probabilities[heldOut[position + 1]!]!);
      }
      return bits / (heldOut.length - 1);
    };
    const options = { k: 8, lambda: 0.5, temperature: 1 };
    const modelOnly = bitsPerToken(undefined);
    const withTrue = bitsPerToken(new KnnLogitsProcessor(new ExactDatastore(keys, values), options));
    const withShuffled = bitsPerToken(new KnnLogitsProcessor(new ExactDatastore(keys, shuffled), options));
    expect(withTrue).toBeLessThan(modelOnly);
    expect(withTrue).toBeLessThan(withShuffled - 0.5);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
