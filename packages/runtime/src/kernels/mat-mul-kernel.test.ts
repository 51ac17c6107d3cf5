import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadNativeKernels } from '@codestack/native-kernels';
import { createRuntime } from '../backend/runtime.js';
import { runNodeProcess, type NodeProcessResult } from '../__fixtures__/run-node-process.js';
import { plainRelaxedKernelModule } from './kernel-module-bytes.js';
import { matMulKernelName, ownMatMul } from './mat-mul-kernel.js';
import { engineHasRelaxedSimd, wasmKernelsFor } from './wasm-kernels.js';

const webAssembly = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;

/** The V8 flag a Node process needs for relaxed SIMD: none where the engine ships it (Node 22 and later), which also refuse the flag. */
function relaxedSimdFlags(): string[] {
  return engineHasRelaxedSimd() ? [] : ['--experimental-wasm-relaxed-simd'];
}

/**
 * Runs `source` (TypeScript) from a file in a fresh Node process with `flags`, from the package
 * root (a file, not --eval: the threaded build's workers inherit the process's arguments).
 */
async function runNode(flags: string[], source: string): Promise<NodeProcessResult> {
  const directory = await mkdtemp(join(tmpdir(), 'codestack-gemm-'));
  try {
    const file = join(directory, 'products.mts');
    await writeFile(file, source);
    return await runNodeProcess([...flags, '--import', 'tsx', file], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      timeout: 120000,
      killSignal: 'SIGKILL',
    });
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

const productsScript = `
  import { createRuntime } from ${JSON.stringify(fileURLToPath(new URL('../backend/runtime.ts', import.meta.url)))};
  import { ownMatMul } from ${JSON.stringify(fileURLToPath(new URL('./mat-mul-kernel.ts', import.meta.url)))};
  import { wasmKernelsFor } from ${JSON.stringify(fileURLToPath(new URL('./wasm-kernels.ts', import.meta.url)))};
  const threads = __THREADS__;
  const nativeKernels = __NATIVE__;
  const { tf } = await createRuntime({ backend: 'wasm', threads, nativeKernels });
  const kernels = wasmKernelsFor(tf);
  if (threads > 1 && !nativeKernels) {
    // Start the helper thread and wait until it takes rows.
    const a = tf.ones([256, 256]);
    ownMatMul(tf, a, a).dispose();
    while (kernels.gemmThreads < threads) await new Promise((resolve) => setTimeout(resolve, 10));
    a.dispose();
  }
  const worst = {};
  let seed = 7;
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  for (const [m, k, n] of [[1, 1, 1], [3, 5, 7], [9, 17, 13], [64, 128, 448], [130, 33, 66], [201, 96, 130]]) {
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
  console.log(JSON.stringify({ relaxedSimd: kernels.relaxedSimd, gemmThreads: kernels.gemmThreads, native: kernels.nativeProducts !== undefined, worst }));
`;

describe('codestack GEMM (ownMatMul)', () => {
  it('replaces tfjs matMul wherever the kernels are bound, with the relaxed build exactly where the engine validates relaxed SIMD', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const kernels = wasmKernelsFor(tf);
    expect(kernels?.relaxedSimd).toBe(webAssembly.validate(Buffer.from(plainRelaxedKernelModule, 'base64')));
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tf.tensor2d([1, 0, 2, -1, 3, 1, 0, 2, -2, 1, 1, 0], [3, 4]);
    const profile = await tf.profile(() => tf.tidy(() => ownMatMul(tf, a, b) as Parameters<typeof ownMatMul>[1]));
    expect(profile.kernels.map((kernel) => kernel.name)).toEqual([matMulKernelName]);
    const product = ownMatMul(tf, a, b) as Parameters<typeof ownMatMul>[1];
    expect(Array.from(product.dataSync())).toEqual(Array.from(tf.matMul(a, b).dataSync()));
    tf.dispose([a, b, product]);
    const tfjsOnly = await createRuntime({ backend: 'wasm', kernels: 'tfjs' });
    expect(ownMatMul(tfjsOnly.tf, tfjsOnly.tf.ones([2, 2]) as Parameters<typeof ownMatMul>[1], tfjsOnly.tf.ones([2, 2]) as Parameters<typeof ownMatMul>[1])).toBeUndefined();
  });

  it('multiplies like tfjs (every transpose, odd shapes, nothing leaked) on the WebAssembly build this engine runs, on one thread and two', { timeout: 150000 }, async () => {
    for (const threads of [1, 2]) {
      const result = await runNode([], productsScript.replace('__THREADS__', String(threads)).replace('__NATIVE__', 'false'));
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const { gemmThreads, worst } = JSON.parse(result.stdout) as { gemmThreads: number; worst: Record<string, number> };
      expect(gemmThreads).toBe(threads);
      expect(Object.keys(worst)).toHaveLength(24);
      for (const [shape, error] of Object.entries(worst)) expect(error, `${threads} thread(s), ${shape}`).toBeLessThan(1e-6);
    }
  });

  it.skipIf(!loadNativeKernels().available)('multiplies like tfjs (every transpose, odd shapes, nothing leaked) on @codestack/native-kernels, on one thread and two', { timeout: 150000 }, async () => {
    for (const threads of [1, 2]) {
      const result = await runNode([], productsScript.replace('__THREADS__', String(threads)).replace('__NATIVE__', 'true'));
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const { native, gemmThreads, worst } = JSON.parse(result.stdout) as { native: boolean; gemmThreads: number; worst: Record<string, number> };
      expect(native).toBe(true);
      // The addon's own threads split the rows: the WebAssembly helpers are never started.
      expect(gemmThreads).toBe(1);
      expect(Object.keys(worst)).toHaveLength(24);
      for (const [shape, error] of Object.entries(worst)) expect(error, `${threads} thread(s), ${shape}`).toBeLessThan(1e-6);
    }
  });

  for (const threads of [1, 2]) {
    it(`multiplies like tfjs (every transpose, odd shapes, nothing leaked) in a Node process with relaxed SIMD switched on, on ${threads} thread(s)`, { timeout: 150000 }, async () => {
      const result = await runNode(relaxedSimdFlags(), productsScript.replace('__THREADS__', String(threads)).replace('__NATIVE__', 'false'));
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const { relaxedSimd, gemmThreads, worst } = JSON.parse(result.stdout) as { relaxedSimd: boolean; gemmThreads: number; worst: Record<string, number> };
      expect(relaxedSimd).toBe(true);
      expect(gemmThreads).toBe(threads);
      expect(Object.keys(worst)).toHaveLength(24);
      for (const [shape, error] of Object.entries(worst)) expect(error, shape).toBeLessThan(1e-6);
    });
  }
});
