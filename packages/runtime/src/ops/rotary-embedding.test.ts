import { describe, expect, it } from 'vitest';
import type * as tfCore from '@tensorflow/tfjs-core';
import { createRuntime, type BackendName } from '../backend/runtime.js';
import { rotaryEmbedding, type RotaryLayout } from './rotary-embedding.js';

function maximumDifference(left: Float32Array, right: Float32Array): number {
  let worst = 0;
  for (let index = 0; index < left.length; index++) worst = Math.max(worst, Math.abs((left[index] as number) - (right[index] as number)));
  return worst;
}

for (const backend of ['wasm', 'cpu'] as BackendName[]) {
  describe(`rotaryEmbedding on ${backend}`, () => {
    it('writes the heads layouts as the rows layout reshaped and transposed, with equal gradients, leaking nothing', async () => {
      const { tf } = await createRuntime({ backend });
      const [batch, tokens, heads, head, offset] = [2, 5, 3, 8, 4];
      const half = head / 2;
      const cos = Float32Array.from({ length: 16 * half }, (_, index) => Math.cos(index * 0.37));
      const sin = Float32Array.from({ length: 16 * half }, (_, index) => Math.sin(index * 0.37));
      const input = tf.randomNormal([batch * tokens, heads * head], 0, 1, 'float32', 3) as tfCore.Tensor2D;
      const upstream = tf.randomNormal([batch, heads, tokens, head], 0, 1, 'float32', 4);
      const before = tf.memory().numTensors;
      const options = { batch, tokens, offset, head, cos, sin, scale: 0.5 };
      const permutations: Record<Exclude<RotaryLayout, 'rows'>, number[]> = { heads: [0, 2, 1, 3], headsTransposed: [0, 2, 3, 1] };
      for (const [layout, permutation] of Object.entries(permutations) as [Exclude<RotaryLayout, 'rows'>, number[]][]) {
        const gradientUpstream = layout === 'heads' ? upstream : tf.transpose(upstream, [0, 1, 3, 2]);
        const direct = tf.valueAndGrad((x: tfCore.Tensor) => tf.sum(tf.mul(rotaryEmbedding(tf, x as tfCore.Tensor2D, { ...options, layout }), gradientUpstream)))(input);
        const reference = tf.valueAndGrad((x: tfCore.Tensor) =>
          tf.sum(tf.mul(tf.transpose(tf.reshape(rotaryEmbedding(tf, x as tfCore.Tensor2D, options), [batch, tokens, heads, head]), permutation), gradientUpstream)),
        )(input);
        const forward = rotaryEmbedding(tf, input, { ...options, layout });
        const forwardReference = tf.tidy(() => tf.transpose(tf.reshape(rotaryEmbedding(tf, input, options), [batch, tokens, heads, head]), permutation));
        expect(forward.shape).toEqual(forwardReference.shape);
        expect(maximumDifference(forward.dataSync() as Float32Array, forwardReference.dataSync() as Float32Array)).toBeLessThan(1e-6);
        expect(Math.abs(direct.value.dataSync()[0]! - reference.value.dataSync()[0]!)).toBeLessThan(1e-4);
        expect(maximumDifference(direct.grad.dataSync() as Float32Array, reference.grad.dataSync() as Float32Array)).toBeLessThan(1e-6);
        tf.dispose([direct.value, direct.grad, reference.value, reference.grad, forward, forwardReference]);
        if (gradientUpstream !== upstream) gradientUpstream.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([input, upstream]);
    });
  });
}
