import type * as tfCore from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../backend/runtime.js';
import type { TensorFlow } from '../backend/tensorflow.js';
import { SeededRandom } from '../random/seeded-random.js';
import { fusedSwiGlu, swiGluKernelName } from './swi-glu-kernel.js';

/** The tensor path: what swiGlu runs off these kernels. */
function reference(tf: TensorFlow, gate: tfCore.Tensor2D, up: tfCore.Tensor2D): tfCore.Tensor2D {
  return tf.mul(tf.mul(gate, tf.sigmoid(gate)), up) as tfCore.Tensor2D;
}

function largestRelativeDifference(left: ArrayLike<number>, right: ArrayLike<number>): number {
  expect(left.length).toBe(right.length);
  let worst = 0;
  for (let index = 0; index < left.length; index++) {
    const expected = right[index] as number;
    worst = Math.max(worst, Math.abs((left[index] as number) - expected) / Math.max(1, Math.abs(expected)));
  }
  return worst;
}

describe('fusedSwiGlu (codestack wasm kernels)', () => {
  for (const [rows, width, spread] of [[1, 1, 1], [3, 7, 3], [16, 448, 2], [9, 37, 40]] as const) {
    it(`matches a float64 reference and the tfjs ops, forward and both gradients, for ${rows} x ${width} (spread ${spread}), leaking nothing`, async () => {
      const { tf } = await createRuntime({ backend: 'wasm' });
      const random = new SeededRandom(rows * 100 + width);
      const make = (scale: number) => tf.tensor2d(Float32Array.from({ length: rows * width }, () => random.nextNormal() * scale), [rows, width]);
      const gate = make(spread);
      const up = make(1);
      const upstream = make(1);
      const before = tf.memory().numTensors;
      const loss = (activation: (g: tfCore.Tensor2D, u: tfCore.Tensor2D) => tfCore.Tensor2D) => (g: tfCore.Tensor, u: tfCore.Tensor) => tf.sum(tf.mul(activation(g as tfCore.Tensor2D, u as tfCore.Tensor2D), upstream));
      const fused = tf.grads(loss((g, u) => fusedSwiGlu(tf, g, u) as tfCore.Tensor2D))([gate, up]);
      const plain = tf.grads(loss((g, u) => reference(tf, g, u)))([gate, up]);
      const output = fusedSwiGlu(tf, gate, up) as tfCore.Tensor2D;
      // float64 reference: silu(g) * u, and its derivatives
      const gates = gate.dataSync();
      const ups = up.dataSync();
      const incoming = upstream.dataSync();
      const expected = new Float64Array(gates.length);
      const expectedGate = new Float64Array(gates.length);
      const expectedUp = new Float64Array(gates.length);
      gates.forEach((g, index) => {
        const s = 1 / (1 + Math.exp(-g));
        expected[index] = g * s * ups[index]!;
        expectedUp[index] = incoming[index]! * g * s;
        expectedGate[index] = incoming[index]! * ups[index]! * s * (1 + g * (1 - s));
      });
      const outputValues = output.dataSync();
      expect(outputValues.every(Number.isFinite)).toBe(true);
      expect(largestRelativeDifference(outputValues, expected)).toBeLessThan(1e-5);
      expect(largestRelativeDifference(fused[0]!.dataSync(), expectedGate)).toBeLessThan(1e-5);
      expect(largestRelativeDifference(fused[1]!.dataSync(), expectedUp)).toBeLessThan(1e-5);
      expect(largestRelativeDifference(fused[0]!.dataSync(), plain[0]!.dataSync())).toBeLessThan(1e-4);
      expect(largestRelativeDifference(fused[1]!.dataSync(), plain[1]!.dataSync())).toBeLessThan(1e-4);
      tf.dispose([...fused, ...plain, output]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([gate, up, upstream]);
    });
  }

  it('saturates without NaN at extreme gates', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const gate = tf.tensor2d([-1000, -100, -88, -10, 0, 10, 88, 100, 1000], [1, 9]);
    const up = tf.ones([1, 9]) as tfCore.Tensor2D;
    const output = fusedSwiGlu(tf, gate, up) as tfCore.Tensor2D;
    const [gateGradient, upGradient] = tf.grads((g: tfCore.Tensor, u: tfCore.Tensor) => tf.sum(fusedSwiGlu(tf, g as tfCore.Tensor2D, u as tfCore.Tensor2D) as tfCore.Tensor2D))([gate, up]);
    const values = Array.from(output.dataSync());
    expect(values.slice(0, 3).every((value) => value <= 0 && value > -1e-30)).toBe(true);
    expect(values[4]).toBe(0);
    expect(values[8]).toBe(1000);
    expect(values[5]).toBeCloseTo(10 / (1 + Math.exp(-10)), 4);
    expect([...gateGradient!.dataSync(), ...upGradient!.dataSync()].every(Number.isFinite)).toBe(true);
    expect(gateGradient!.dataSync()[8]).toBeCloseTo(1, 6);
    tf.dispose([gate, up, output, gateGradient!, upGradient!]);
  });

  it('is one kernel in a profile, and is not offered for mismatched shapes, other dtypes, on cpu or with kernels: tfjs', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const gate = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const profile = await tf.profile(() => tf.tidy(() => fusedSwiGlu(tf, gate, gate) as tfCore.Tensor2D));
    expect(profile.kernels.map((kernel) => kernel.name).filter((name) => tf.getKernel(name, 'wasm') !== undefined)).toEqual([swiGluKernelName]);
    expect(fusedSwiGlu(tf, gate, tf.tensor2d([1, 2], [1, 2]))).toBeUndefined();
    expect(fusedSwiGlu(tf, gate, tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'))).toBeUndefined();
    gate.dispose();
    const tfjsOnly = await createRuntime({ backend: 'wasm', kernels: 'tfjs' });
    expect(fusedSwiGlu(tfjsOnly.tf, tfjsOnly.tf.ones([1, 2]) as tfCore.Tensor2D, tfjsOnly.tf.ones([1, 2]) as tfCore.Tensor2D)).toBeUndefined();
    const cpu = await createRuntime({ backend: 'cpu' });
    expect(fusedSwiGlu(cpu.tf, cpu.tf.ones([1, 2]) as tfCore.Tensor2D, cpu.tf.ones([1, 2]) as tfCore.Tensor2D)).toBeUndefined();
  });
});
