import type * as tfCore from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../backend/runtime.js';
import type { TensorFlow } from '../backend/tensorflow.js';
import { SeededRandom } from '../random/seeded-random.js';
import { batchedMatMul } from '../ops/batched-mat-mul.js';
import { causalAttention, causalAttentionKernelName } from './causal-attention.js';
import { wasmKernelsFor, type WasmKernels } from './wasm-kernels.js';
import { helperThreadsReady } from '../__fixtures__/numeric-checks.js';

type Tensor3D = tfCore.Tensor3D;

/** The same attention from tensor ops (the model's path without these kernels): scores, an additive causal mask, softmax, weighted sum. */
function reference(tf: TensorFlow, query: Tensor3D, keysTransposed: Tensor3D, values: Tensor3D, groups: number): Tensor3D {
  const [, rows] = query.shape;
  const keys = keysTransposed.shape[2];
  const tokens = rows / groups;
  const offset = keys - tokens;
  const mask = new Float32Array(rows * keys);
  for (let row = 0; row < rows; row++) for (let key = offset + (row % tokens) + 1; key < keys; key++) mask[row * keys + key] = -1e9;
  const scores = tf.add(batchedMatMul(tf, query, keysTransposed), tf.tensor2d(mask, [rows, keys]));
  return batchedMatMul(tf, tf.softmax(scores) as Tensor3D, values);
}

function worstRelative(actual: Float32Array, expected: Float32Array): number {
  let scale = 0;
  for (const value of expected) scale = Math.max(scale, Math.abs(value));
  let worst = 0;
  for (let index = 0; index < expected.length; index++) worst = Math.max(worst, Math.abs((actual[index] as number) - (expected[index] as number)));
  return worst / Math.max(scale, 1e-6);
}

/**
 * Expects causalAttention's output (within 1e-5) and its three gradients of sum(out * weights)
 * (within 1e-4) to match the tensor ops', and releases what it made.
 */
function expectLikeTensorOps(tf: TensorFlow, query: Tensor3D, keysTransposed: Tensor3D, values: Tensor3D, weights: Tensor3D, groups: number): void {
  const fused = tf.tidy(() => causalAttention(tf, query, keysTransposed, values, groups, false) as Tensor3D);
  const plain = tf.tidy(() => reference(tf, query, keysTransposed, values, groups));
  expect(worstRelative(fused.dataSync() as Float32Array, plain.dataSync() as Float32Array)).toBeLessThan(1e-5);
  const loss = (attend: (q: Tensor3D, k: Tensor3D, v: Tensor3D) => Tensor3D) => (q: tfCore.Tensor, k: tfCore.Tensor, v: tfCore.Tensor) =>
    tf.sum(tf.mul(attend(q as Tensor3D, k as Tensor3D, v as Tensor3D), weights));
  const fusedGradients = tf.grads(loss((q, k, v) => causalAttention(tf, q, k, v, groups, true) as Tensor3D))([query, keysTransposed, values]);
  const plainGradients = tf.grads(loss((q, k, v) => reference(tf, q, k, v, groups)))([query, keysTransposed, values]);
  for (const [index, name] of ['query', 'keysTransposed', 'values'].entries()) {
    expect(worstRelative(fusedGradients[index]!.dataSync() as Float32Array, plainGradients[index]!.dataSync() as Float32Array), name).toBeLessThan(1e-4);
  }
  tf.dispose([fused, plain, ...fusedGradients, ...plainGradients]);
}

describe('causalAttention (codestack wasm kernels)', () => {
  it('is not offered off the wasm kernels (cpu, or kernels: tfjs)', async () => {
    for (const runtime of [await createRuntime({ backend: 'cpu' }), await createRuntime({ backend: 'wasm', kernels: 'tfjs' })]) {
      const { tf } = runtime;
      const query = tf.zeros([1, 2, 4]) as Tensor3D;
      const keys = tf.zeros([1, 4, 2]) as Tensor3D;
      const values = tf.zeros([1, 2, 4]) as Tensor3D;
      expect(causalAttention(tf, query, keys, values, 1, true)).toBeUndefined();
      tf.dispose([query, keys, values]);
    }
  });

  const cases: [string, { slices: number; groups: number; tokens: number; offset: number; head: number }][] = [
    ['one token', { slices: 2, groups: 1, tokens: 1, offset: 0, head: 4 }],
    ['grouped queries', { slices: 3, groups: 2, tokens: 9, offset: 0, head: 8 }],
    ['three groups, odd head size', { slices: 2, groups: 3, tokens: 7, offset: 0, head: 6 }],
    ['after cached positions', { slices: 2, groups: 2, tokens: 5, offset: 11, head: 16 }],
    ['a training-sized slice', { slices: 2, groups: 2, tokens: 64, offset: 0, head: 32 }],
  ];
  for (const [label, { slices, groups, tokens, offset, head }] of cases) {
    it(`matches the tensor ops, forward and all three gradients, for ${label}, leaking nothing`, async () => {
      const { tf } = await createRuntime({ backend: 'wasm' });
      const random = new SeededRandom(slices * 100 + tokens);
      const tensor = (shape: [number, number, number], scale = 1): Tensor3D =>
        tf.tensor3d(Float32Array.from({ length: shape[0] * shape[1] * shape[2] }, () => random.nextNormal() * scale), shape);
      const keys = offset + tokens;
      const query = tensor([slices, groups * tokens, head], 1 / Math.sqrt(head));
      const keysTransposed = tensor([slices, head, keys]);
      const values = tensor([slices, keys, head]);
      const weights = tensor([slices, groups * tokens, head]);
      const before = tf.memory().numTensors;

      expectLikeTensorOps(tf, query, keysTransposed, values, weights, groups);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([query, keysTransposed, values, weights]);
    });
  }

  it('shares the slices with a helper thread on the threaded build, forward and gradients as the tensor ops, leaking nothing', async () => {
    const runtime = await createRuntime({ backend: 'wasm', threads: 2 });
    const { tf } = runtime;
    const kernels = wasmKernelsFor(tf) as WasmKernels;
    const random = new SeededRandom(42);
    const [slices, groups, tokens, offset, head] = [11, 2, 16, 3, 8];
    const tensor = (shape: [number, number, number], scale = 1): Tensor3D =>
      tf.tensor3d(Float32Array.from({ length: shape[0] * shape[1] * shape[2] }, () => random.nextNormal() * scale), shape);
    const query = tensor([slices, groups * tokens, head], 1 / Math.sqrt(head));
    const keysTransposed = tensor([slices, head, offset + tokens]);
    const values = tensor([slices, offset + tokens, head]);
    const weights = tensor([slices, groups * tokens, head]);
    // The first call starts the helper; wait until it takes calls.
    tf.dispose(tf.tidy(() => causalAttention(tf, query, keysTransposed, values, groups, false) as Tensor3D));
    expect(await helperThreadsReady(kernels, 2)).toBe(2);
    const before = tf.memory().numTensors;
    for (let round = 0; round < 3; round++) expectLikeTensorOps(tf, query, keysTransposed, values, weights, groups);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([query, keysTransposed, values, weights]);
    runtime.dispose();
  });

  it('shows up as one kernel in a profile, forward and backward', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const query = tf.ones([2, 8, 4]) as Tensor3D;
    const keysTransposed = tf.ones([2, 4, 4]) as Tensor3D;
    const values = tf.ones([2, 4, 4]) as Tensor3D;
    const profile = await tf.profile(() => {
      const [gradient] = tf.grads((q: tfCore.Tensor) => tf.sum(causalAttention(tf, q as Tensor3D, keysTransposed, values, 2, true) as Tensor3D))([query]);
      gradient?.dispose();
    });
    const names = profile.kernels.map((kernel) => kernel.name);
    expect(names.filter((name) => name === causalAttentionKernelName)).toHaveLength(1);
    expect(names.filter((name) => name === `${causalAttentionKernelName}Grad`)).toHaveLength(1);
    expect(names).not.toContain('BatchMatMul');
    expect(names).not.toContain('Softmax');
    tf.dispose([query, keysTransposed, values]);
  });
});
