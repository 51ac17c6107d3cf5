import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../backend/runtime.js';
import { runNodeProcess, type NodeProcessResult } from '../__fixtures__/run-node-process.js';
import { plainRelaxedKernelModule } from './kernel-module-bytes.js';
import { ownMatMul } from './mat-mul-kernel.js';
import { wasmKernelsFor } from './wasm-kernels.js';

const webAssembly = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;

/** Runs `source` (TypeScript) in a fresh Node process with `flags`, from the package root. */
function runNode(flags: string[], source: string): Promise<NodeProcessResult> {
  return runNodeProcess([...flags, '--import', 'tsx', '--input-type=module', '--eval', source], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    timeout: 120000,
    killSignal: 'SIGKILL',
  });
}

const products = `
  import { createRuntime } from ${JSON.stringify(fileURLToPath(new URL('../backend/runtime.ts', import.meta.url)))};
  import { ownMatMul } from ${JSON.stringify(fileURLToPath(new URL('./mat-mul-kernel.ts', import.meta.url)))};
  import { wasmKernelsFor } from ${JSON.stringify(fileURLToPath(new URL('./wasm-kernels.ts', import.meta.url)))};
  const { tf } = await createRuntime({ backend: 'wasm' });
  const kernels = wasmKernelsFor(tf);
  const worst = {};
  let seed = 7;
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  for (const [m, k, n] of [[1, 1, 1], [3, 5, 7], [9, 17, 13], [64, 128, 448], [130, 33, 66]]) {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        const a = tf.tensor2d(Float32Array.from({ length: m * k }, next), transposeA ? [k, m] : [m, k]);
        const b = tf.tensor2d(Float32Array.from({ length: k * n }, next), transposeB ? [n, k] : [k, n]);
        const before = tf.memory().numTensors;
        const ours = ownMatMul(tf, a, b, transposeA, transposeB);
        const theirs = tf.matMul(a, b, transposeA, transposeB);
        const x = ours.dataSync(), y = theirs.dataSync();
        let error = 0;
        for (let index = 0; index < y.length; index++) error = Math.max(error, Math.abs(x[index] - y[index]) / Math.sqrt(k));
        worst[m + 'x' + k + 'x' + n + (transposeA ? ' tA' : '') + (transposeB ? ' tB' : '')] = error;
        tf.dispose([ours, theirs]);
        if (tf.memory().numTensors !== before) throw new Error('leaked');
        tf.dispose([a, b]);
      }
    }
  }
  console.log(JSON.stringify({ relaxedSimd: kernels.relaxedSimd, worst }));
`;

describe('codestack GEMM (relaxed-SIMD build)', () => {
  it('is chosen exactly where the engine validates relaxed SIMD, and only then replaces tfjs matMul', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const kernels = wasmKernelsFor(tf);
    const relaxed = webAssembly.validate(Buffer.from(plainRelaxedKernelModule, 'base64'));
    expect(kernels?.relaxedSimd).toBe(relaxed);
    const a = tf.ones([2, 3]) as Parameters<typeof ownMatMul>[1];
    const product = ownMatMul(tf, a, tf.ones([3, 4]) as typeof a);
    expect(product === undefined).toBe(!relaxed);
    product?.dispose();
  });

  it('multiplies like tfjs (every transpose, odd shapes, nothing leaked) in a Node process with relaxed SIMD switched on', { timeout: 150000 }, async () => {
    const result = await runNode(['--experimental-wasm-relaxed-simd'], products);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const { relaxedSimd, worst } = JSON.parse(result.stdout) as { relaxedSimd: boolean; worst: Record<string, number> };
    expect(relaxedSimd).toBe(true);
    expect(Object.keys(worst)).toHaveLength(20);
    for (const [shape, error] of Object.entries(worst)) expect(error, shape).toBeLessThan(1e-6);
  });
});
