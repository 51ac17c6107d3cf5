import { describe, expect, it } from 'vitest';
import type * as tfCore from '@tensorflow/tfjs-core';
import { createRuntime } from '../backend/runtime.js';
import { registerSharedIdentityKernel } from './shared-identity-kernel.js';

describe('registerSharedIdentityKernel', () => {
  it('makes wasm clones share the buffer: same values, one buffer, each outlives the other, nothing leaks', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const { tf } = runtime;
    registerSharedIdentityKernel(tf);
    expect(registerSharedIdentityKernel(tf)).toBe(false);
    const before = tf.memory();
    const buffers = (): number => tf.engine().backend.numDataIds();
    const buffersBefore = buffers();
    const original = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const clone = tf.clone(original);
    // one buffer for both tensors (tfjs-wasm's own Identity allocates a second one and copies)
    expect(buffers() - buffersBefore).toBe(1);
    expect([...(clone.dataSync() as Float32Array)]).toEqual([1, 2, 3, 4, 5, 6]);
    original.dispose();
    expect([...(clone.dataSync() as Float32Array)]).toEqual([1, 2, 3, 4, 5, 6]);
    const again = tf.clone(clone);
    clone.dispose();
    expect(again.shape).toEqual([2, 3]);
    expect([...(again.dataSync() as Float32Array)]).toEqual([1, 2, 3, 4, 5, 6]);
    again.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(buffers()).toBe(buffersBefore);
    const strings = tf.tensor1d(['a', 'b'], 'string');
    expect(tf.clone(strings).dataSync()).toEqual(['a', 'b']);
    tf.dispose(strings);
  });

  it('gives gradients through ops that save their inputs equal to the cpu backend', async () => {
    const gradientOn = async (backend: 'wasm' | 'cpu'): Promise<Float32Array[]> => {
      const runtime = await createRuntime({ backend });
      const { tf } = runtime;
      registerSharedIdentityKernel(tf);
      const before = tf.memory().numTensors;
      const a = tf.tensor2d([0.5, -1, 2, 3], [2, 2]);
      const b = tf.tensor2d([1.5, 2, -0.5, 1], [2, 2]);
      // mul, sigmoid and div all save inputs or outputs for their gradients (tfjs clones them)
      const gradients = tf.grads((...[x, y]: tfCore.Tensor[]) => tf.sum(tf.div(tf.mul(x!, tf.sigmoid(y!)), tf.add(tf.square(y!), 1))))([a, b]);
      const values = gradients.map((gradient) => gradient.dataSync() as Float32Array);
      tf.dispose([a, b, ...gradients]);
      expect(tf.memory().numTensors).toBe(before);
      return values;
    };
    const wasm = await gradientOn('wasm');
    const cpu = await gradientOn('cpu');
    for (let index = 0; index < wasm.length; index++) {
      for (let element = 0; element < wasm[index]!.length; element++) expect(wasm[index]![element]).toBeCloseTo(cpu[index]![element]!, 5);
    }
  });
});
