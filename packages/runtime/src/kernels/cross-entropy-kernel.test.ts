import type * as tfCore from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../backend/runtime.js';
import type { TensorFlow } from '../backend/tensorflow.js';
import { SeededRandom } from '../random/seeded-random.js';
import { crossEntropyKernelName, fusedCrossEntropy } from './cross-entropy-kernel.js';

/** The tensor path: log-softmax and a one-hot product (what crossEntropyLoss does off these kernels). */
function reference(tf: TensorFlow, logits: tfCore.Tensor2D, targets: tfCore.Tensor1D): tfCore.Scalar {
  const oneHot = tf.oneHot(targets, logits.shape[1]);
  return tf.neg(tf.div(tf.sum(tf.mul(tf.logSoftmax(logits), oneHot)), targets.shape[0])) as tfCore.Scalar;
}

describe('fusedCrossEntropy (codestack wasm kernels)', () => {
  for (const [rows, vocabulary, spread] of [[1, 3, 1], [7, 37, 3], [64, 2048, 10], [5, 151_936, 4]] as const) {
    it(`matches a float64 reference (and the log-softmax one-hot path), loss and gradient, for ${rows} rows of ${vocabulary} logits (spread ${spread}), leaking nothing`, async () => {
      const { tf } = await createRuntime({ backend: 'wasm' });
      const random = new SeededRandom(rows + vocabulary);
      const logits = tf.tensor2d(Float32Array.from({ length: rows * vocabulary }, () => random.nextNormal() * spread), [rows, vocabulary]);
      const targets = tf.tensor1d(Int32Array.from({ length: rows }, () => random.nextInt(vocabulary)), 'int32');
      const before = tf.memory().numTensors;
      const fused = tf.valueAndGrad((input: tfCore.Tensor) => fusedCrossEntropy(tf, input as tfCore.Tensor2D, targets) as tfCore.Scalar)(logits);
      // float64 reference: loss = mean(logsumexp - logit[target]), gradient = (softmax - one-hot) / rows
      const values = logits.dataSync();
      const ids = targets.dataSync();
      let loss = 0;
      const gradient = new Float64Array(rows * vocabulary);
      for (let row = 0; row < rows; row++) {
        const line = Array.from(values.subarray(row * vocabulary, (row + 1) * vocabulary));
        const maximum = line.reduce((largest, value) => Math.max(largest, value), -Infinity);
        const sum = line.reduce((total, value) => total + Math.exp(value - maximum), 0);
        const logSumExp = maximum + Math.log(sum);
        loss += (logSumExp - line[ids[row]!]!) / rows;
        line.forEach((value, column) => (gradient[row * vocabulary + column] = (Math.exp(value - logSumExp) - (column === ids[row] ? 1 : 0)) / rows));
      }
      expect(Math.abs(fused.value.dataSync()[0]! - loss)).toBeLessThan(1e-5 * Math.max(1, loss));
      const fusedGradient = fused.grad.dataSync();
      let worst = 0;
      for (let index = 0; index < gradient.length; index++) worst = Math.max(worst, Math.abs(fusedGradient[index]! - gradient[index]!));
      expect(worst).toBeLessThan(1e-6);
      // and the tensor path agrees with both to float32 rounding
      const plain = tf.valueAndGrad((input: tfCore.Tensor) => reference(tf, input as tfCore.Tensor2D, targets))(logits);
      expect(Math.abs(plain.value.dataSync()[0]! - loss)).toBeLessThan(1e-4 * Math.max(1, loss));
      tf.dispose([fused.value, fused.grad, plain.value, plain.grad]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([logits, targets]);
    });
  }

  it('keeps targets made inside the gradient function alive until the backward pass', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const weights = tf.variable(tf.tensor2d([0.5, -1, 2, 0, 1, -0.5], [2, 3]));
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => fusedCrossEntropy(tf, weights, tf.tensor1d([2, 0], 'int32')) as tfCore.Scalar, [weights]);
    const expected = tf.variableGrads(() => reference(tf, weights, tf.tensor1d([2, 0], 'int32')), [weights]);
    expect(value.dataSync()[0]).toBeCloseTo(expected.value.dataSync()[0]!, 6);
    const expectedGradient = expected.grads[weights.name]!.dataSync();
    grads[weights.name]!.dataSync().forEach((entry, index) => expect(entry).toBeCloseTo(expectedGradient[index]!, 6));
    tf.dispose([value, expected.value, ...Object.values(grads), ...Object.values(expected.grads)]);
    expect(tf.memory().numTensors).toBe(before);
    weights.dispose();
  });

  it('counts a target outside the vocabulary as 0 in the loss and the gradient, as a one-hot of it does', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const logits = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const targets = tf.tensor1d([2, 7], 'int32');
    const fused = tf.valueAndGrad((input: tfCore.Tensor) => fusedCrossEntropy(tf, input as tfCore.Tensor2D, targets) as tfCore.Scalar)(logits);
    const plain = tf.valueAndGrad((input: tfCore.Tensor) => reference(tf, input as tfCore.Tensor2D, targets))(logits);
    expect(fused.value.dataSync()[0]).toBeCloseTo(plain.value.dataSync()[0]!, 6);
    const plainGradient = plain.grad.dataSync();
    fused.grad.dataSync().forEach((value, index) => expect(value).toBeCloseTo(plainGradient[index]!, 6));
    expect(Array.from(fused.grad.dataSync().slice(3))).toEqual([0, 0, 0]);
    tf.dispose([fused.value, fused.grad, plain.value, plain.grad, logits, targets]);
  });

  it('is one kernel in a profile, and is not offered for float targets, on cpu or with kernels: tfjs', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const logits = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const targets = tf.tensor1d([0, 1], 'int32');
    const profile = await tf.profile(() => tf.tidy(() => fusedCrossEntropy(tf, logits, targets)));
    // registered kernels only (the custom gradient's scope shows up too)
    expect(profile.kernels.map((kernel) => kernel.name).filter((name) => tf.getKernel(name, 'wasm') !== undefined)).toEqual([crossEntropyKernelName]);
    expect(fusedCrossEntropy(tf, logits, tf.tensor1d([0, 1], 'float32'))).toBeUndefined();
    tf.dispose([logits, targets]);
    const tfjsOnly = await createRuntime({ backend: 'wasm', kernels: 'tfjs' });
    expect(fusedCrossEntropy(tfjsOnly.tf, tfjsOnly.tf.zeros([1, 2]) as tfCore.Tensor2D, tfjsOnly.tf.zeros([1], 'int32') as tfCore.Tensor1D)).toBeUndefined();
    const cpu = await createRuntime({ backend: 'cpu' });
    expect(fusedCrossEntropy(cpu.tf, cpu.tf.zeros([1, 2]) as tfCore.Tensor2D, cpu.tf.zeros([1], 'int32') as tfCore.Tensor1D)).toBeUndefined();
  });
});
