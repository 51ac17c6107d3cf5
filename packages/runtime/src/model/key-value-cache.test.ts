import { describe, expect, it } from 'vitest';
import type * as tfCore from '@tensorflow/tfjs-core';
import { createRuntime, type BackendName } from '../backend/runtime.js';
import { LlamaModel } from './llama-model.js';
import { KeyValueCache } from './key-value-cache.js';
import { wasmKernelsFor } from '../kernels/wasm-kernels.js';
import { tinyConfig } from '../__fixtures__/test-configs.js';

for (const backend of ['wasm', 'cpu'] as BackendName[]) {
  describe(`KeyValueCache on ${backend}`, () => {
    it('keeps the gradient of a differentiable cached step through the new token’s value (central finite differences), leaking nothing', async () => {
      const runtime = await createRuntime({ backend });
      const { tf } = runtime;
      const model = LlamaModel.create(runtime, tinyConfig, { seed: 4, initializerRange: 0.3 });
      const name = 'model.layers.1.self_attn.v_proj.weight';
      const weight = model.getWeight(name);
      const before = tf.memory().numTensors;
      const prefilled = (): KeyValueCache => {
        const cache = model.createCache(1);
        model.logits([[3, 1, 4, 1, 5]], cache).dispose();
        return cache;
      };
      const loss = (cache: KeyValueCache): tfCore.Scalar =>
        tf.tidy(() => tf.sum(tf.square(model.logitsFlat(tf.tensor2d([[9]], [1, 1], 'int32'), cache, { differentiable: true }))) as tfCore.Scalar);
      const cache = prefilled();
      const { value, grads } = tf.variableGrads(() => loss(cache), [weight]);
      const analytic = grads[weight.name]!.dataSync()[7]!;
      tf.dispose([value, ...Object.values(grads)]);
      cache.dispose();
      const original = weight.dataSync().slice() as Float32Array;
      const shifted = (delta: number): number => {
        const fresh = prefilled();
        const values = original.slice();
        values[7] = values[7]! + delta;
        const perturbed = tf.tensor(values, weight.shape);
        weight.assign(perturbed);
        perturbed.dispose();
        const result = loss(fresh);
        const number = result.dataSync()[0]!;
        result.dispose();
        fresh.dispose();
        const restored = tf.tensor(original, weight.shape);
        weight.assign(restored);
        restored.dispose();
        return number;
      };
      const numeric = (shifted(1e-2) - shifted(-1e-2)) / 2e-2;
      expect(Math.abs(analytic)).toBeGreaterThan(1e-3);
      expect(Math.abs(analytic - numeric)).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    });

    it('grows by doubling up to its maximum length, keeps what it held, and refuses more', async () => {
      const runtime = await createRuntime({ backend });
      const { tf } = runtime;
      const cache = new KeyValueCache(1, 1, { maximumLength: 200 });
      const step = (position: number): void => {
        const key = tf.fill([1, 2, 4, 1], position) as tfCore.Tensor4D;
        const value = tf.fill([1, 2, 1, 4], -position) as tfCore.Tensor4D;
        tf.tidy(() => void cache.append(tf, 0, key, value));
        cache.advance(1);
        tf.dispose([key, value]);
      };
      for (let position = 0; position < 130; position++) step(position);
      expect(cache.allocatedLength).toBe(200);
      const storage = cache.storage(0, 2, 4, 130);
      // keys [slice, head, capacity], values [slice, capacity, head]: position 129 of slice 1
      expect(storage.keys[(1 * 4 + 3) * 200 + 129]).toBe(129);
      expect(storage.values[(1 * 200 + 129) * 4 + 2]).toBe(-129);
      expect(storage.keys[(0 * 4 + 0) * 200 + 5]).toBe(5);
      expect(() => cache.storage(0, 2, 4, 201)).toThrow(/exceed/);
      expect(() => cache.storage(0, 3, 4, 10)).toThrow(/holds 2 heads of 4/);
      cache.dispose();
      expect(cache.length).toBe(0);
    });

    it('keeps tensors, read back never, when the backend is a device one (tfjs-node), and refuses to mix the two', async () => {
      const runtime = await createRuntime({ backend });
      const { tf } = runtime;
      // The same kernels, named as tfjs-node names its backend.
      const deviceTf = { ...tf, getBackend: () => 'tensorflow' } as typeof tf;
      const before = tf.memory().numTensors;
      const cache = new KeyValueCache(1, 1, { maximumLength: 3 });
      let last: number[][] = [];
      for (let position = 0; position < 3; position++) {
        const key = tf.fill([1, 2, 4, 1], position) as tfCore.Tensor4D;
        const value = tf.fill([1, 2, 1, 4], -position - 1) as tfCore.Tensor4D;
        tf.tidy(() => {
          const [keys, values] = cache.append(deviceTf, 0, key, value);
          expect(keys.shape).toEqual([1, 2, 4, position + 1]);
          expect(values.shape).toEqual([1, 2, position + 1, 4]);
          last = [[...keys.dataSync()], [...values.dataSync()]];
        });
        cache.advance(1);
        tf.dispose([key, value]);
      }
      expect(last[0]!.slice(0, 3)).toEqual([0, 1, 2]);
      expect(last[1]!.slice(0, 12)).toEqual([-1, -1, -1, -1, -2, -2, -2, -2, -3, -3, -3, -3]);
      expect(cache.allocatedLength).toBe(0);
      // One key and one value tensor for the layer, nothing else.
      expect(tf.memory().numTensors).toBe(before + 2);
      const key = tf.zeros([1, 2, 4, 1]) as tfCore.Tensor4D;
      const value = tf.zeros([1, 2, 1, 4]) as tfCore.Tensor4D;
      expect(() => tf.tidy(() => void cache.append(deviceTf, 0, key, value))).toThrow(/exceed the cache's 3/);
      expect(() => cache.storage(0, 2, 4, 4)).toThrow(/holds tensors/);
      cache.dispose();
      // Only the two zero tensors of this test are left.
      expect(tf.memory().numTensors).toBe(before + 2);
      tf.dispose([key, value]);
      expect(tf.memory().numTensors).toBe(before);
      const arrays = new KeyValueCache(1, 1);
      arrays.storage(0, 2, 4, 1);
      expect(() => arrays.append(deviceTf, 0, key, value)).toThrow(/holds arrays/);
    });
  });
}

/** Its own buffer, exactly its size: not a view of the wasm memory. */
function expectOwnArray(values: Float32Array): void {
  expect(values.byteOffset).toBe(0);
  expect(values.buffer.byteLength).toBe(values.byteLength);
}

describe('KeyValueCache in the wasm memory (codestack kernels)', () => {
  it('keeps its arrays in the backend memory, keeps their content through its own growth and the memory’s, and gives them back on dispose', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const memoryBuffer = (): ArrayBufferLike => (tf.backend() as unknown as { wasm: { HEAPF32: Float32Array } }).wasm.HEAPF32.buffer;
    const cache = new KeyValueCache(2, 1, { maximumLength: 4096 });
    const first = cache.storage(1, 2, 4, 3, tf);
    expect(first.keys.buffer).toBe(memoryBuffer());
    first.keys.set([1, 2, 3], 0);
    first.values.set([4, 5, 6], 0);
    // Keys [slices, head, capacity], values [slices, capacity, head]: slice 1's key row 1 and its
    // position 2 lie at offsets that move with the capacity, so a flat copy would misplace them.
    const capacity = cache.allocatedLength;
    first.keys.set([7, 8, 9], (1 * 4 + 1) * capacity);
    first.values.set([10, 11, 12, 13], (capacity + 2) * 4);
    cache.advance(3);
    // Past the first capacity: the blocks are reallocated and the positions copied.
    const grown = cache.storage(1, 2, 4, 300, tf);
    const grownCapacity = cache.allocatedLength;
    expect(grownCapacity).toBeGreaterThanOrEqual(300);
    expect(Array.from(grown.keys.subarray(0, 3))).toEqual([1, 2, 3]);
    expect(Array.from(grown.values.subarray(0, 3))).toEqual([4, 5, 6]);
    expect(Array.from(grown.keys.subarray((1 * 4 + 1) * grownCapacity, (1 * 4 + 1) * grownCapacity + 3))).toEqual([7, 8, 9]);
    expect(Array.from(grown.values.subarray((grownCapacity + 2) * 4, (grownCapacity + 2) * 4 + 4))).toEqual([10, 11, 12, 13]);
    // A large tensor grows the memory and detaches every earlier view; a new request sees the same values.
    const large = tf.zeros([memoryBuffer().byteLength / 4 + 4 * 1024 * 1024]);
    expect(grown.keys.length).toBe(0);
    const again = cache.storage(1, 2, 4, 300, tf);
    expect(Array.from(again.keys.subarray(0, 3))).toEqual([1, 2, 3]);
    large.dispose();
    cache.dispose();
    expect(cache.allocatedLength).toBe(0);
  });

  it('frees its blocks on dispose: a thousand 8 MiB caches in turn do not grow the memory', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const memoryBytes = (): number => (tf.backend() as unknown as { wasm: { HEAPF32: Float32Array } }).wasm.HEAPF32.buffer.byteLength;
    const make = (): void => {
      const cache = new KeyValueCache(1, 1);
      // 16 heads x 64 x 1024 positions x 2 (keys, values) x 4 bytes = 8 MiB, in the backend's memory
      const storage = cache.storage(0, 16, 64, 1024, tf);
      expect(storage.keys.buffer).toBe((tf.backend() as unknown as { wasm: { HEAPF32: Float32Array } }).wasm.HEAPF32.buffer);
      storage.keys[0] = 1;
      cache.dispose();
    };
    make();
    const before = memoryBytes();
    for (let index = 0; index < 1000; index++) make();
    expect(memoryBytes()).toBe(before);
  });

  it('moves to JavaScript arrays, content kept and blocks given back, when the wasm memory runs out at the first blocks or while growing', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const kernels = wasmKernelsFor(tf)!;
    const live = new Set<number>();
    const allocate = kernels.allocate.bind(kernels);
    const release = kernels.release.bind(kernels);
    let allocationsLeft = Number.POSITIVE_INFINITY;
    kernels.allocate = (floats: number): number => {
      if (allocationsLeft-- <= 0) throw new Error('cannot allocate (simulated exhaustion)');
      const pointer = allocate(floats);
      live.add(pointer);
      return pointer;
    };
    kernels.release = (pointer: number): void => {
      live.delete(pointer);
      release(pointer);
    };
    try {
      const cache = new KeyValueCache(2, 1, { maximumLength: 4096 });
      cache.storage(0, 2, 4, 3, tf).keys.set([1, 2, 3], 0);
      cache.storage(1, 2, 4, 3, tf).values.set([4, 5, 6, 7], 0);
      expect(live.size).toBe(4);
      cache.advance(3);
      // Layer 0's new keys and values fit, layer 1's do not: both layers leave the memory with what they held.
      allocationsLeft = 2;
      const grown = cache.storage(0, 2, 4, 300, tf);
      expect(live.size).toBe(0);
      expectOwnArray(grown.keys);
      expect(cache.allocatedLength).toBeGreaterThanOrEqual(300);
      expect(Array.from(grown.keys.subarray(0, 3))).toEqual([1, 2, 3]);
      expect(Array.from(cache.storage(1, 2, 4, 300, tf).values.subarray(0, 4))).toEqual([4, 5, 6, 7]);
      cache.dispose();
      // A cache whose very first blocks cannot be had starts in arrays.
      allocationsLeft = 0;
      const fresh = new KeyValueCache(1, 1);
      expectOwnArray(fresh.storage(0, 2, 4, 3, tf).keys);
      fresh.dispose();
    } finally {
      delete (kernels as Partial<typeof kernels>).allocate;
      delete (kernels as Partial<typeof kernels>).release;
    }
    expect(kernels.allocate).toBe(Object.getPrototypeOf(kernels).allocate);
  });

  it('stays in JavaScript arrays without tf, with kernels: tfjs, or on cpu', async () => {
    const inJavaScript = (tf: Parameters<KeyValueCache['storage']>[4]): void => {
      const cache = new KeyValueCache(1, 1);
      expectOwnArray(cache.storage(0, 2, 4, 3, tf).keys);
      cache.dispose();
    };
    inJavaScript(undefined);
    const tfjsOnly = await createRuntime({ backend: 'wasm', kernels: 'tfjs' });
    expect(tfjsOnly.tf.getBackend()).toBe('wasm');
    inJavaScript(tfjsOnly.tf);
    const cpu = await createRuntime({ backend: 'cpu' });
    inJavaScript(cpu.tf);
  });
});
