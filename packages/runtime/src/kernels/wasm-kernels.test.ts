import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../backend/runtime.js';
import { SeededRandom } from '../random/seeded-random.js';
import { plainKernelModule, plainRelaxedKernelModule, sharedKernelModule, sharedRelaxedKernelModule } from './kernel-module-bytes.js';
import { chunks, wasmKernelsFor, type WasmKernels } from './wasm-kernels.js';

/** The WebAssembly JS API (this package compiles without the DOM types). */
interface ModuleEntry {
  module?: string;
  name: string;
  kind: string;
}
const webAssembly = (
  globalThis as unknown as {
    WebAssembly: {
      Module: { new (bytes: Uint8Array): object; imports(module: object): ModuleEntry[]; exports(module: object): ModuleEntry[] };
      validate(bytes: Uint8Array): boolean;
      Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => { buffer: ArrayBufferLike };
      Instance: new (module: object, imports: object) => object;
    };
  }
).WebAssembly;

const random = new SeededRandom(11);
const values = (length: number): Float32Array => Float32Array.from({ length }, () => random.nextNormal());

/** The worst error relative to `scale` (per element; default the expected value, at least 1). */
function worstRelative(actual: Float32Array, expected: Float64Array, scale?: Float64Array): number {
  let worst = 0;
  for (let index = 0; index < expected.length; index++) {
    const by = scale?.[index] ?? Math.max(1, Math.abs(expected[index] as number));
    worst = Math.max(worst, Math.abs((actual[index] as number) - (expected[index] as number)) / by);
  }
  return worst;
}

/** Per output, the sum of the magnitudes of its terms: what float32 rounding error scales with. */
function productMagnitudes(x: Float32Array, w: Float32Array, bias: Float32Array | undefined, rows: number, inputs: number, outputs: number): Float64Array {
  const absolute = (array: Float32Array): Float32Array => array.map(Math.abs);
  return referenceProduct(absolute(x), absolute(w), bias === undefined ? undefined : absolute(bias), rows, inputs, outputs);
}

function referenceProduct(x: Float32Array, w: Float32Array, bias: Float32Array | undefined, rows: number, inputs: number, outputs: number): Float64Array {
  const y = new Float64Array(rows * outputs);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < outputs; column++) {
      let sum = bias === undefined ? 0 : (bias[column] as number);
      for (let k = 0; k < inputs; k++) sum += (x[row * inputs + k] as number) * (w[k * outputs + column] as number);
      y[row * outputs + column] = sum;
    }
  }
  return y;
}

/** x @ w (+ bias) through the kernel, the weights and bias as tfjs tensors (read in place), x in scratch. */
function kernelProduct(kernels: WasmKernels, tf: Awaited<ReturnType<typeof createRuntime>>['tf'], x: Float32Array, w: Float32Array, bias: Float32Array | undefined, rows: number, inputs: number, outputs: number): Float32Array {
  const weight = tf.tensor2d(w, [inputs, outputs]);
  const biasTensor = bias === undefined ? undefined : tf.tensor1d(bias);
  const scratch = kernels.scratch(rows * (inputs + outputs));
  const output = scratch + rows * inputs * 4;
  kernels.floats().set(x, scratch / 4);
  kernels.matrixVector(rows, inputs, outputs, scratch, kernels.offsetOf(weight), biasTensor === undefined ? 0 : kernels.offsetOf(biasTensor), output);
  const result = kernels.floats().slice(output / 4, output / 4 + rows * outputs);
  weight.dispose();
  biasTensor?.dispose();
  return result;
}

describe('codestack wasm kernels', () => {
  it('bind to the wasm backend only, and not when the runtime asks for tfjs kernels', async () => {
    const cpu = await createRuntime({ backend: 'cpu' });
    expect(wasmKernelsFor(cpu.tf)).toBeUndefined();
    const tfjsOnly = await createRuntime({ backend: 'wasm', kernels: 'tfjs' });
    expect(wasmKernelsFor(tfjsOnly.tf)).toBeUndefined();
    const ours = await createRuntime({ backend: 'wasm' });
    expect(wasmKernelsFor(ours.tf)).toBeDefined();
    await expect(createRuntime({ backend: 'wasm', kernels: 'fast' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('multiply rows by a weight (with and without bias) like a float64 reference (error within 1e-5 of the magnitude of the terms), for every column and input tail, in place on tfjs tensors', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const kernels = wasmKernelsFor(tf) as WasmKernels;
    const before = tf.memory().numTensors;
    for (const [rows, inputs, outputs] of [[1, 1, 1], [1, 5, 3], [2, 7, 17], [3, 37, 21], [1, 128, 448], [2, 448, 128], [1, 64, 2048]] as const) {
      for (const withBias of [false, true]) {
        const x = values(rows * inputs);
        const w = values(inputs * outputs);
        const bias = withBias ? values(outputs) : undefined;
        const actual = kernelProduct(kernels, tf, x, w, bias, rows, inputs, outputs);
        expect(worstRelative(actual, referenceProduct(x, w, bias, rows, inputs, outputs), productMagnitudes(x, w, bias, rows, inputs, outputs)), `${rows}x${inputs} @ ${inputs}x${outputs}${withBias ? ' + bias' : ''}`).toBeLessThan(1e-5);
      }
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('still read the right memory after tfjs-wasm grows it', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const kernels = wasmKernelsFor(tf) as WasmKernels;
    const x = values(2 * 33);
    const w = values(33 * 45);
    const first = kernelProduct(kernels, tf, x, w, undefined, 2, 33, 45);
    const bytesBefore = kernels.floats().byteLength;
    // 64 MiB more than the memory holds makes tfjs-wasm grow it (the old buffer is detached).
    const large = tf.zeros([bytesBefore / 4 + 16 * 1024 * 1024]);
    expect(kernels.floats().byteLength).toBeGreaterThan(bytesBefore);
    const second = kernelProduct(kernels, tf, x, w, undefined, 2, 33, 45);
    large.dispose();
    expect(Array.from(second)).toEqual(Array.from(first));
  });

  it('attend one new position per key/value head like a float64 softmax reference, over any head size, group count and length', async () => {
    const { tf } = await createRuntime({ backend: 'wasm' });
    const kernels = wasmKernelsFor(tf) as WasmKernels;
    for (const [slices, groups, head, total] of [[1, 1, 4, 1], [2, 2, 6, 5], [3, 3, 8, 130], [2, 1, 32, 513]] as const) {
      const capacity = total + 3;
      const query = values(slices * groups * head);
      const keys = values(slices * head * capacity);
      const cached = values(slices * capacity * head);
      // one very large score: the softmax must subtract the maximum
      keys[0] = 40;
      const expected = new Float64Array(slices * groups * head);
      for (let slice = 0; slice < slices; slice++) {
        for (let group = 0; group < groups; group++) {
          const scores = Array.from({ length: total }, (_, t) => {
            let sum = 0;
            for (let d = 0; d < head; d++) sum += (query[(slice * groups + group) * head + d] as number) * (keys[(slice * head + d) * capacity + t] as number);
            return sum;
          });
          const maximum = Math.max(...scores);
          const weights = scores.map((score) => Math.exp(score - maximum));
          const sum = weights.reduce((left, right) => left + right, 0);
          for (let d = 0; d < head; d++) {
            let value = 0;
            for (let t = 0; t < total; t++) value += ((weights[t] as number) / sum) * (cached[(slice * capacity + t) * head + d] as number);
            expected[(slice * groups + group) * head + d] = value;
          }
        }
      }
      const sizes = [query.length, keys.length, cached.length, groups * total, query.length];
      const base = kernels.scratch(sizes.reduce((left, right) => left + right, 0));
      const offsets = sizes.map((_, index) => base + 4 * sizes.slice(0, index).reduce((left, right) => left + right, 0));
      const [queryAt, keysAt, valuesAt, scoresAt, outAt] = offsets as [number, number, number, number, number];
      const floats = kernels.floats();
      floats.set(query, queryAt / 4);
      floats.set(keys, keysAt / 4);
      floats.set(cached, valuesAt / 4);
      kernels.decodeAttention(slices, groups, head, capacity, total, queryAt, keysAt, valuesAt, scoresAt, outAt);
      const actual = kernels.floats().slice(outAt / 4, outAt / 4 + query.length);
      expect(worstRelative(actual, expected), `${slices} slices, ${groups} groups, head ${head}, ${total} positions`).toBeLessThan(1e-5);
    }
  });

  it('run on the shared memory of the threaded build', async () => {
    const { tf, threads } = await createRuntime({ backend: 'wasm', threads: 2 });
    expect(threads).toBe(2);
    const kernels = wasmKernelsFor(tf) as WasmKernels;
    expect(kernels.floats().buffer).toBeInstanceOf(SharedArrayBuffer);
    const x = values(3 * 19);
    const w = values(19 * 23);
    const bias = values(23);
    expect(worstRelative(kernelProduct(kernels, tf, x, w, bias, 3, 19, 23), referenceProduct(x, w, bias, 3, 19, 23), productMagnitudes(x, w, bias, 3, 19, 23))).toBeLessThan(1e-5);
  });

  it('write only their outputs and scratch: no shadow stack in the memory they are given, even on every tail path', () => {
    // The linker leaves a stack pointer at 1,024; a kernel that spilled to the shadow stack would
    // write just below it. Operands go above 64 KB, every byte below stays a canary.
    const module = new webAssembly.Module(Buffer.from(plainKernelModule, 'base64'));
    const memory = new webAssembly.Memory({ initial: 64 });
    const exports = (new webAssembly.Instance(module, { env: { memory } }) as unknown as { exports: Record<string, (...values: number[]) => number> }).exports;
    const bytes = new Uint8Array(memory.buffer);
    bytes.fill(0xa5, 0, 65536);
    const floats = new Float32Array(memory.buffer);
    for (let index = 65536 / 4; index < floats.length; index++) floats[index] = ((index * 7919) % 13) / 13 - 0.5;
    const at = (floatIndex: number): number => 65536 + floatIndex * 4;
    const [m, n, k] = [7, 13, 9];
    exports.codestack_pack_b!(k, n, at(0), n, 1, at(1000));
    exports.codestack_gemm_packed!(m, n, k, at(2000), k, 1, at(1000), at(3000), n, 1, at(4000));
    exports.codestack_pack_b!(k, n, at(0), 1, k, at(1000));
    exports.codestack_gemm_packed!(m, n, k, at(2000), 1, m, at(1000), at(3000), n, 0, at(4000));
    exports.codestack_column_sums!(7, 5, at(0), at(5000));
    exports.codestack_swiglu_forward!(7, at(0), at(100), at(5000));
    exports.codestack_swiglu_backward!(7, at(0), at(100), at(200), at(5000), at(5100));
    exports.codestack_rms_norm_forward!(3, 5, at(0), at(100), 1e-5, at(5000), at(5100));
    exports.codestack_rms_norm_backward!(3, 5, at(0), at(100), at(5100), at(200), at(5200), at(5300));
    exports.codestack_adamw!(7, at(0), at(100), at(200), at(300), 1, 0.9, 0.95, 0.99, 0.01, 1, 1e-8, at(5000), at(5100), at(5200));
    exports.codestack_matvec!(2, 5, 7, at(0), at(100), 0, at(5000));
    expect(bytes.subarray(0, 65536).every((byte) => byte === 0xa5)).toBe(true);
  });

  it('are modules that import only a memory and carry no data segment to write into it', () => {
    const variants = [
      ['plain', plainKernelModule, false],
      ['shared', sharedKernelModule, true],
      ['plainRelaxed', plainRelaxedKernelModule, false],
      ['sharedRelaxed', sharedRelaxedKernelModule, true],
    ] as const;
    // The relaxed-SIMD builds compile only where the engine ships relaxed SIMD (not Node 20 by default).
    for (const [label, source, shared] of variants.filter(([, bytes]) => webAssembly.validate(Buffer.from(bytes, 'base64')))) {
      const module = new webAssembly.Module(Buffer.from(source, 'base64'));
      expect(webAssembly.Module.imports(module), label).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
      expect(webAssembly.Module.exports(module).map((entry) => entry.name).sort(), label).toEqual(['codestack_adamw', 'codestack_causal_attention_backward', 'codestack_causal_attention_forward', 'codestack_causal_attention_scratch', 'codestack_column_sums', 'codestack_cross_entropy_backward', 'codestack_cross_entropy_forward', 'codestack_decode_attention', 'codestack_gemm_packed', 'codestack_heads_layout', 'codestack_matvec', 'codestack_pack_b', 'codestack_packed_b_floats', 'codestack_rms_norm_backward', 'codestack_rms_norm_forward', 'codestack_rotary', 'codestack_sum_squares', 'codestack_swiglu_backward', 'codestack_swiglu_forward']);
      const memory = new webAssembly.Memory(shared ? { initial: 1, maximum: 65536, shared: true } : { initial: 1 });
      expect(() => new webAssembly.Instance(module, { env: { memory } }), label).not.toThrow();
      expect(new Uint8Array(memory.buffer).every((byte) => byte === 0), `${label} wrote into the memory it was given`).toBe(true);
    }
  });

  const buildScript = fileURLToPath(new URL('../../native/build.sh', import.meta.url));
  const toolchain = ['clang-14', 'wasm-ld-14', 'llvm-objdump-14', 'clang-16', 'wasm-ld-16', 'llvm-objdump-16'].every((tool) => {
    try {
      execFileSync('which', [tool], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  it.skipIf(!toolchain)(`rebuild from native/kernels.c to the committed bytes${toolchain ? '' : ' (skipped: clang, wasm-ld and llvm-objdump 14 and 16 are not all installed)'}`, () => {
    const directory = mkdtempSync(join(tmpdir(), 'kernels-'));
    try {
      const out = join(directory, 'kernel-module-bytes.ts');
      execFileSync('bash', [buildScript], { env: { ...process.env, OUT: out }, stdio: 'pipe' });
      expect(readFileSync(out, 'utf8')).toBe(readFileSync(fileURLToPath(new URL('./kernel-module-bytes.ts', import.meta.url)), 'utf8'));
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('chunks (the runs a split kernel is shared in)', () => {
  it('covers every item once, in runs of whole multiples, largest first, ending small, at most 64 runs', () => {
    for (const [total, threads, multiple] of [[1024, 2, 4], [1023, 2, 4], [16, 2, 1], [301, 2, 1], [65_539, 2, 4], [100_000, 8, 4], [7, 2, 4], [1, 2, 1], [1_000_000, 2, 1]] as const) {
      const runs = chunks(total, threads, multiple);
      const label = `${total} items, ${threads} threads, multiples of ${multiple}`;
      expect(runs.length, label).toBeLessThanOrEqual(64);
      let next = 0;
      for (const [index, [first, count]] of runs.entries()) {
        expect(first, label).toBe(next);
        expect(count, label).toBeGreaterThan(0);
        if (index < runs.length - 1) expect(count % multiple, label).toBe(0);
        if (index > 0 && index < runs.length - 1) expect(count, label).toBeLessThanOrEqual((runs[index - 1] as [number, number])[1]);
        next += count;
      }
      expect(next, label).toBe(total);
      // The first run is a share of the whole; with room for it, the last is a small fraction of that.
      const [firstRun, lastRun] = [(runs[0] as [number, number])[1], (runs.at(-1) as [number, number])[1]];
      const units = Math.ceil(total / multiple);
      expect(firstRun, label).toBeLessThanOrEqual(Math.max(Math.ceil(units / 64), Math.ceil(units / (2 * threads))) * multiple);
      if (total >= 256 * multiple) expect(lastRun, label).toBeLessThanOrEqual(firstRun / 8);
    }
  });
});
