import { describe, expect, it } from 'vitest';
import type * as tfCore from '@tensorflow/tfjs-core';
import { createRuntime, type BackendName } from '../backend/runtime.js';
import type { TensorFlow } from '../backend/tensorflow.js';
import { AdamW } from './adamw.js';

/** The AdamW update as tensor ops (the formula the JavaScript loop replaced), for one variable. */
function referenceStep(
  tf: TensorFlow,
  state: { value: tfCore.Tensor; first: tfCore.Tensor; second: tfCore.Tensor },
  gradient: tfCore.Tensor,
  step: number,
  learningRate: number,
  decay: number,
): void {
  const [beta1, beta2, epsilon] = [0.9, 0.95, 1e-8];
  const next = tf.tidy(() => {
    const first = tf.add(tf.mul(state.first, beta1), tf.mul(gradient, 1 - beta1));
    const second = tf.add(tf.mul(state.second, beta2), tf.mul(tf.square(gradient), 1 - beta2));
    const update = tf.div(tf.div(first, 1 - beta1 ** step), tf.add(tf.sqrt(tf.div(second, 1 - beta2 ** step)), epsilon));
    const value = tf.sub(tf.mul(state.value, 1 - learningRate * decay), tf.mul(update, learningRate));
    return { value, first, second };
  });
  tf.dispose([state.value, state.first, state.second]);
  Object.assign(state, next);
}

function maximumRelativeDifference(left: Float32Array, right: Float32Array): number {
  let worst = 0;
  for (let index = 0; index < left.length; index++) {
    worst = Math.max(worst, Math.abs((left[index] as number) - (right[index] as number)) / (1e-3 + Math.abs(right[index] as number)));
  }
  return worst;
}

for (const backend of ['wasm', 'cpu'] as BackendName[]) {
  describe(`AdamW on ${backend}`, () => {
    it('follows the tensor-op formula within 1e-5 over 5 steps (decayed and not, clip scale applied), through a getState/setState round trip, leaking nothing', async () => {
      const runtime = await createRuntime({ backend });
      const { tf } = runtime;
      const before = tf.memory().numTensors;
      const shapes: Record<string, number[]> = { 'layer.weight': [6, 5], 'layer.norm.weight': [5] };
      const variables = new Map(Object.entries(shapes).map(([name, shape], index) => [name, tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, 1, 'float32', index + 1)))]));
      const references = new Map([...variables].map(([name, variable]) => [name, { value: tf.clone(variable), first: tf.zerosLike(variable), second: tf.zerosLike(variable) }]));
      let optimizer = new AdamW(tf);
      for (let step = 1; step <= 5; step++) {
        const scale = step === 3 ? 0.25 : 1;
        const gradients = new Map([...variables].map(([name, variable], index) => [name, tf.randomNormal(variable.shape, 0, 1, 'float32', 100 * step + index)]));
        optimizer.apply(variables, gradients, 1e-2, scale);
        for (const [name, gradient] of gradients) {
          const scaled = tf.mul(gradient, scale);
          referenceStep(tf, references.get(name)!, scaled, step, 1e-2, name.includes('norm') ? 0 : 0.1);
          scaled.dispose();
        }
        tf.dispose([...gradients.values()]);
        if (step === 2) {
          // a resumed optimizer continues exactly where the first one stopped
          const restored = new AdamW(tf);
          restored.setState(optimizer.getState());
          optimizer.dispose();
          optimizer = restored;
          expect(optimizer.step).toBe(2);
        }
      }
      for (const [name, variable] of variables) {
        expect(maximumRelativeDifference(variable.dataSync() as Float32Array, references.get(name)!.value.dataSync() as Float32Array), name).toBeLessThan(1e-5);
      }
      const state = optimizer.getState();
      expect(maximumRelativeDifference(state.secondMoments.get('layer.weight')!.data, references.get('layer.weight')!.second.dataSync() as Float32Array)).toBeLessThan(1e-5);
      optimizer.dispose();
      for (const reference of references.values()) tf.dispose([reference.value, reference.first, reference.second]);
      tf.dispose([...variables.values()]);
      expect(tf.memory().numTensors).toBe(before);
    });

    it('refuses a negative or non-finite gradient scale and an unknown variable', async () => {
      const runtime = await createRuntime({ backend });
      const { tf } = runtime;
      const variable = tf.variable(tf.ones([2]));
      const gradient = tf.ones([2]);
      const optimizer = new AdamW(tf);
      expect(() => optimizer.apply(new Map([['a', variable]]), new Map([['a', gradient]]), 1e-3, -1)).toThrow(/gradientScale/);
      expect(() => optimizer.apply(new Map([['a', variable]]), new Map([['a', gradient]]), 1e-3, Number.NaN)).toThrow(/gradientScale/);
      expect(() => optimizer.apply(new Map([['a', variable]]), new Map([['b', gradient]]), 1e-3)).toThrow(/no variable named b/);
      expect(optimizer.step).toBe(0);
      tf.dispose([variable, gradient]);
    });
  });
}
