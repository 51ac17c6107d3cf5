import { describe, expect, it } from 'vitest';
import { RepetitionPenaltyProcessor, TemperatureProcessor, TopKProcessor, TopPProcessor, softmax } from './logits-processors.js';
import { GreedySampler, MultinomialSampler } from './samplers.js';
import { SeededRandom } from '../random/seeded-random.js';

describe('logits processors and samplers', () => {
  it('penalise repeated tokens by sign, scale by temperature, and cut by topK and topP', () => {
    const logits = new Float32Array([2, -2, 1, 0.5]);
    new RepetitionPenaltyProcessor(2).process(logits, [0, 1, 0]);
    expect([...logits]).toEqual([1, -4, 1, 0.5]);
    new TemperatureProcessor(0.5).process(logits);
    expect([...logits]).toEqual([2, -8, 2, 1]);
    const topK = new Float32Array([3, 1, 2, 0]);
    new TopKProcessor(2).process(topK);
    expect([...topK]).toEqual([3, -Infinity, 2, -Infinity]);
    // probabilities of [ln 6, ln 3, ln 1] are 0.6, 0.3, 0.1
    const topP = new Float32Array([Math.log(3), Math.log(6), Math.log(1)]);
    new TopPProcessor(0.85).process(topP);
    expect(topP[2]).toBe(-Infinity);
    expect(Number.isFinite(topP[0]!) && Number.isFinite(topP[1]!)).toBe(true);
    const exactP = new Float32Array([Math.log(3), Math.log(6), Math.log(1)]);
    new TopPProcessor(0.5).process(exactP);
    expect([...exactP].filter(Number.isFinite)).toHaveLength(1);
  });

  it('sample greedily or by probability with a seeded generator whose state can be restored', () => {
    expect(new GreedySampler().sample(new Float32Array([0, 3, 3, 1]))).toBe(1);
    const logits = new Float32Array([Math.log(0.2), Math.log(0.5), Math.log(0.3)]);
    const random = new SeededRandom(123);
    const counts = [0, 0, 0];
    const sampler = new MultinomialSampler(random);
    for (let draw = 0; draw < 20000; draw++) counts[sampler.sample(logits)]!++;
    expect(counts[0]! / 20000).toBeCloseTo(0.2, 1);
    expect(counts[1]! / 20000).toBeCloseTo(0.5, 1);
    const state = random.getState();
    const next = [random.nextUint32(), random.nextUint32()];
    const restored = SeededRandom.fromState(state);
    expect([restored.nextUint32(), restored.nextUint32()]).toEqual(next);
    expect(softmax(new Float32Array([1000, 1000])).every((value) => value === 0.5)).toBe(true);
  });
});
