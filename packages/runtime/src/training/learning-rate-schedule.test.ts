import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import { warmupCosineSchedule } from './learning-rate-schedule.js';
import { clipByGlobalNorm, globalNorm } from './gradient-clipping.js';
import { createRuntime } from '../backend/runtime.js';

describe('warmup + cosine schedule', () => {
  it('warms up linearly, decays by cosine to the minimum and stays there', () => {
    const schedule = warmupCosineSchedule({ peakLearningRate: 1, warmupSteps: 4, totalSteps: 14, minimumLearningRate: 0.1 });
    expect([0, 1, 2, 3].map(schedule)).toEqual([0.25, 0.5, 0.75, 1]);
    expect(schedule(4)).toBe(1);
    expect(schedule(9)).toBeCloseTo(0.55, 10);
    expect(schedule(14)).toBeCloseTo(0.1, 10);
    expect(schedule(100)).toBe(0.1);
    expect(() => warmupCosineSchedule({ peakLearningRate: 1, warmupSteps: 5, totalSteps: 4 })).toThrow(InvalidArgumentError);
  });
});

describe('global-norm clipping', () => {
  it('scales every gradient by the same factor only when the norm exceeds the maximum', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const gradients = new Map<string, import('@tensorflow/tfjs-core').Tensor>([
      ['a', tf.tensor1d([3, 0])],
      ['b', tf.tensor2d([[0, 4]])],
    ]);
    expect(globalNorm(tf, gradients)).toBe(5);
    const untouched = clipByGlobalNorm(tf, gradients, 10);
    expect(untouched.gradients).toBe(gradients);
    const clipped = clipByGlobalNorm(tf, gradients, 1);
    expect(clipped.norm).toBe(5);
    expect([...clipped.gradients.get('a')!.dataSync()]).toEqual([0.6000000238418579, 0]);
    expect([...clipped.gradients.get('b')!.dataSync()]).toEqual([0, 0.800000011920929]);
    expect(gradients.get('a')!.isDisposed).toBe(true);
    for (const gradient of clipped.gradients.values()) gradient.dispose();
    expect(() => clipByGlobalNorm(tf, new Map(), 0)).toThrow(InvalidArgumentError);
  });
});
