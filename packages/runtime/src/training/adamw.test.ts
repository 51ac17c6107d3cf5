import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import type * as tfCore from '@tensorflow/tfjs-core';
import { createRuntime, type BackendName } from '../backend/runtime.js';
import type { TensorFlow } from '../backend/tensorflow.js';
import { AdamW } from './adamw.js';
import { adamWKernelName } from '../kernels/adamw-kernel.js';

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

/**
 * `tf` as the optimizer sees it on tfjs-node: the same kernels, but `getBackend()` says
 * 'tensorflow', so that the tensor path (taken there) runs and is checked here.
 */
function asTensorflowBackend(tf: TensorFlow): TensorFlow {
  return { ...tf, getBackend: () => 'tensorflow' } as TensorFlow;
}

for (const [backend, path] of [['wasm', 'kernel'], ['wasm', 'JavaScript'], ['cpu', 'JavaScript'], ['cpu', 'tensor']] as [BackendName, 'kernel' | 'JavaScript' | 'tensor'][]) {
  describe(`AdamW on ${backend}, ${path} path`, () => {
    // On wasm the kernel path is the default; kernels: 'tfjs' leaves the JavaScript loop.
    const open = () => createRuntime({ backend, kernels: backend === 'wasm' && path === 'JavaScript' ? 'tfjs' : 'codestack' });

    it('follows the tensor-op formula within 1e-5 over 5 steps (decayed and not, clip scale applied), through a getState/setState round trip, leaking nothing', async () => {
      const runtime = await open();
      const { tf } = runtime;
      const optimizerTf = path === 'tensor' ? asTensorflowBackend(tf) : tf;
      const before = tf.memory().numTensors;
      const shapes: Record<string, number[]> = { 'layer.weight': [6, 5], 'layer.norm.weight': [5] };
      const variables = new Map(Object.entries(shapes).map(([name, shape], index) => [name, tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, 1, 'float32', index + 1)))]));
      const references = new Map([...variables].map(([name, variable]) => [name, { value: tf.clone(variable), first: tf.zerosLike(variable), second: tf.zerosLike(variable) }]));
      let optimizer = new AdamW(optimizerTf);
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
          const restored = new AdamW(optimizerTf);
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

    it(`runs ${path === 'kernel' ? 'as one CodestackAdamW kernel per variable' : 'without the CodestackAdamW kernel'}`, async () => {
      const { tf } = await open();
      const optimizerTf = path === 'tensor' ? asTensorflowBackend(tf) : tf;
      const variables = new Map([['a.weight', tf.variable(tf.ones([3, 4]))], ['b.norm.weight', tf.variable(tf.ones([4]))]]);
      const gradients = new Map([...variables].map(([name, variable]) => [name, tf.onesLike(variable)]));
      const optimizer = new AdamW(optimizerTf);
      const profile = await tf.profile(() => optimizer.apply(variables, gradients, 0.1));
      expect(profile.kernels.filter((kernel) => kernel.name === adamWKernelName)).toHaveLength(path === 'kernel' ? 2 : 0);
      // the first step of Adam moves every value by the learning rate (decay aside)
      expect(Array.from(variables.get('b.norm.weight')!.dataSync()).every((value) => Math.abs(value - 0.9) < 1e-5)).toBe(true);
      optimizer.dispose();
      tf.dispose([...variables.values(), ...gradients.values()]);
    });

    it('refuses a negative or non-finite gradient scale and an unknown variable', async () => {
      const runtime = await open();
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

    it('refuses a gradient of another shape than its variable, before changing anything', async () => {
      const runtime = await open();
      const { tf } = runtime;
      const optimizer = new AdamW(path === 'tensor' ? asTensorflowBackend(tf) : tf);
      const variable = tf.variable(tf.ones([2, 3]));
      const other = tf.variable(tf.ones([4]));
      const gradients = { shorter: tf.ones([5]), longer: tf.ones([7]), transposed: tf.ones([3, 2]) };
      const otherGradient = tf.onesLike(other);
      for (const [kind, gradient] of Object.entries(gradients)) {
        // `other` comes first: nothing may be applied to it either.
        expect(() => optimizer.apply(new Map([['b', other], ['a', variable]]), new Map([['b', otherGradient], ['a', gradient]]), 1e-2), kind).toThrow(InvalidArgumentError);
      }
      expect(() => optimizer.apply(new Map([['a', variable]]), new Map([['a', gradients.shorter]]), 1e-2)).toThrow(/gradient of a has shape \[5\], its variable \[2, 3\]/);
      expect(optimizer.step).toBe(0);
      expect([...variable.dataSync()]).toEqual([1, 1, 1, 1, 1, 1]);
      expect([...other.dataSync()]).toEqual([1, 1, 1, 1]);
      expect(optimizer.getState().firstMoments.size).toBe(0);
      tf.dispose([variable, other, otherGradient, ...Object.values(gradients)]);
      optimizer.dispose();
    });

    it('refuses a state whose moments do not match their shape or each other, and moments restored for another shape', async () => {
      const runtime = await open();
      const { tf } = runtime;
      const optimizer = new AdamW(path === 'tensor' ? asTensorflowBackend(tf) : tf);
      const moment = (shape: number[], size: number) => ({ shape, data: new Float32Array(size).fill(0.5) });
      const state = (first: ReturnType<typeof moment> | undefined, second: ReturnType<typeof moment> | undefined, step = 3) => ({
        step,
        firstMoments: new Map(first === undefined ? [] : [['a', first]]),
        secondMoments: new Map(second === undefined ? [] : [['a', second]]),
      });
      const bad = {
        'a short first moment': state(moment([2, 3], 5), moment([2, 3], 6)),
        'a long second moment': state(moment([2, 3], 6), moment([2, 3], 7)),
        'moments of different shapes': state(moment([2, 3], 6), moment([3, 2], 6)),
        'no second moment': state(moment([2, 3], 6), undefined),
        'a negative step': state(moment([2, 3], 6), moment([2, 3], 6), -1),
        'a fractional step': state(moment([2, 3], 6), moment([2, 3], 6), 1.5),
      };
      optimizer.setState(state(moment([6], 6), moment([6], 6), 1));
      for (const [kind, value] of Object.entries(bad)) expect(() => optimizer.setState(value), kind).toThrow(InvalidArgumentError);
      // A refused state leaves the current one.
      expect(optimizer.step).toBe(1);
      expect(optimizer.getState().firstMoments.get('a')!.shape).toEqual([6]);
      // Moments of [6] for a variable of [2, 3]: refused, not reset to zero.
      const variable = tf.variable(tf.ones([2, 3]));
      const gradient = tf.ones([2, 3]);
      expect(() => optimizer.apply(new Map([['a', variable]]), new Map([['a', gradient]]), 1e-2)).toThrow(/optimizer state of a has shape \[6\], the variable \[2, 3\]/);
      expect(optimizer.step).toBe(1);
      optimizer.setState(state(moment([2, 3], 6), moment([2, 3], 6)));
      optimizer.apply(new Map([['a', variable]]), new Map([['a', gradient]]), 1e-2);
      expect(optimizer.step).toBe(4);
      expect(optimizer.getState().firstMoments.get('a')!.data[0]).toBeCloseTo(0.9 * 0.5 + 0.1, 6);
      tf.dispose([variable, gradient]);
      optimizer.dispose();
    });
  });
}
