import { describe, expect, it } from 'vitest';
import type * as tfCore from '@tensorflow/tfjs-core';
import { createRuntime, type BackendName } from '../backend/runtime.js';
import { rotaryEmbedding, type RotaryLayout } from './rotary-embedding.js';
import { helperThreadsReady, maximumDifference } from '../__fixtures__/numeric-checks.js';
import { parallelElementWork, wasmKernelsFor, type WasmKernels } from '../kernels/wasm-kernels.js';

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

describe("rotaryEmbedding on codestack's wasm kernels", () => {
  /** Flat index of element `index` of head `headIndex` of (sequence, token) in `layout`. */
  function at(layout: RotaryLayout, shape: { tokens: number; heads: number; head: number }, sequence: number, token: number, headIndex: number, index: number): number {
    const { tokens, heads, head } = shape;
    if (layout === 'rows') return ((sequence * tokens + token) * heads + headIndex) * head + index;
    if (layout === 'heads') return ((sequence * heads + headIndex) * tokens + token) * head + index;
    return ((sequence * heads + headIndex) * head + index) * tokens + token;
  }

  /** The rotation in float64 from rows to `layout` (direction 1) or back (-1). */
  function reference(values: Float32Array, layout: RotaryLayout, shape: { batch: number; tokens: number; offset: number; heads: number; head: number; scale: number }, cos: Float32Array, sin: Float32Array, direction: 1 | -1): Float64Array {
    const { batch, tokens, offset, heads, head, scale } = shape;
    const half = head / 2;
    const out = new Float64Array(values.length);
    for (let sequence = 0; sequence < batch; sequence++) {
      for (let token = 0; token < tokens; token++) {
        for (let headIndex = 0; headIndex < heads; headIndex++) {
          for (let index = 0; index < half; index++) {
            const c = (cos[(offset + token) * half + index] as number) * scale;
            const s = (sin[(offset + token) * half + index] as number) * scale * direction;
            const [from, to] = direction === 1 ? ['rows' as const, layout] : [layout, 'rows' as const];
            const low = values[at(from, shape, sequence, token, headIndex, index)] as number;
            const high = values[at(from, shape, sequence, token, headIndex, index + half)] as number;
            out[at(to, shape, sequence, token, headIndex, index)] = low * c - high * s;
            out[at(to, shape, sequence, token, headIndex, index + half)] = high * c + low * s;
          }
        }
      }
    }
    return out;
  }

  for (const threads of [1, 2]) {
    it(`matches a float64 rotation, forward and gradient, in every layout, on ${threads} thread(s), leaking nothing`, async () => {
      const runtime = await createRuntime({ backend: 'wasm', threads });
      const { tf } = runtime;
      const kernels = wasmKernelsFor(tf);
      expect(kernels).toBeDefined();
      const profile = async (run: () => tfCore.Tensor): Promise<string[]> => {
        const info = await tf.profile(() => run());
        tf.dispose(info.result as tfCore.Tensor);
        return info.kernelNames;
      };
      // An odd half (scalar lanes only), and one large enough to be split between threads.
      const shapes = [
        { batch: 2, tokens: 5, offset: 4, heads: 3, head: 6, scale: 0.5 },
        { batch: 4, tokens: 128, offset: 3, heads: 8, head: 64, scale: 0.25 },
      ];
      for (const shape of shapes) {
        const { batch, tokens, offset, heads, head, scale } = shape;
        const half = head / 2;
        const cos = Float32Array.from({ length: (offset + tokens + 2) * half }, (_, index) => Math.cos(index * 0.37));
        const sin = Float32Array.from({ length: (offset + tokens + 2) * half }, (_, index) => Math.sin(index * 0.37));
        const input = tf.randomNormal([batch * tokens, heads * head], 0, 1, 'float32', 5) as tfCore.Tensor2D;
        const inputValues = input.dataSync() as Float32Array;
        if (threads > 1 && batch * tokens * heads * head >= parallelElementWork) {
          // The first large rotation starts the helper; wait until it takes calls.
          rotaryEmbedding(tf, input, { batch, tokens, offset, head, cos, sin, scale }, false).dispose();
          expect(await helperThreadsReady(kernels as WasmKernels, threads)).toBe(threads);
        }
        const before = tf.memory().numTensors;
        for (const layout of ['rows', 'heads', 'headsTransposed'] as const) {
          const options = { batch, tokens, offset, head, cos, sin, scale, layout };
          expect(await profile(() => rotaryEmbedding(tf, input, options, false))).toEqual(['CodestackRotary']);
          const forward = rotaryEmbedding(tf, input, options);
          expect(maximumDifference(reference(inputValues, layout, shape, cos, sin, 1), forward.dataSync()), `${layout} forward`).toBeLessThan(1e-5);
          const upstream = tf.randomNormal(forward.shape, 0, 1, 'float32', 6);
          const gradient = tf.grad((x: tfCore.Tensor) => tf.sum(tf.mul(rotaryEmbedding(tf, x as tfCore.Tensor2D, options), upstream)))(input);
          expect(maximumDifference(reference(upstream.dataSync() as Float32Array, layout, shape, cos, sin, -1), gradient.dataSync()), `${layout} gradient`).toBeLessThan(1e-5);
          tf.dispose([forward, upstream, gradient]);
        }
        expect(tf.memory().numTensors).toBe(before);
        input.dispose();
      }
      runtime.dispose();
    });
  }
});
