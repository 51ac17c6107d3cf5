import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InvalidArgumentError } from '@codestack/core';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { loadNativeKernels, type MatrixProduct, type NativeKernels } from './native-kernels.js';

/** This CPU's flags (Linux only; elsewhere undefined, and the tests that need them check less). */
function cpuFlags(): string | undefined {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return undefined;
  }
}

const flags = cpuFlags();
const load = loadNativeKernels();
const expectAvailable = process.arch === 'x64' && flags !== undefined && /\bavx2\b/.test(flags) && /\bfma\b/.test(flags);
/** The addon's file, for the tests that call it without the wrapper. */
const addonFile = fileURLToPath(new URL('../build/Release/codestack_native_kernels.node', import.meta.url));

test('loads on an x86-64 CPU with AVX2 and FMA, and says why not elsewhere', () => {
  if (expectAvailable) expect(load).toMatchObject({ available: true });
  else expect(load).toMatchObject({ available: false, reason: expect.any(String) });
});

test('CODESTACK_NATIVE_KERNELS=0 turns it off', () => {
  const previous = process.env.CODESTACK_NATIVE_KERNELS;
  process.env.CODESTACK_NATIVE_KERNELS = '0';
  try {
    expect(loadNativeKernels()).toEqual({ available: false, reason: 'CODESTACK_NATIVE_KERNELS=0 is set' });
  } finally {
    if (previous === undefined) delete process.env.CODESTACK_NATIVE_KERNELS;
    else process.env.CODESTACK_NATIVE_KERNELS = previous;
  }
});

/** A deterministic pseudo-random array (values in [-0.5, 0.5)). */
function randomArray(length: number, seed: number, shared = false): Float32Array {
  const array = shared ? new Float32Array(new SharedArrayBuffer(length * 4)) : new Float32Array(length);
  let state = seed >>> 0;
  for (let index = 0; index < length; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    array[index] = state / 2 ** 32 - 0.5;
  }
  return array;
}

/** The product in float64, from the array's values before the call. */
function reference(array: Float32Array, p: MatrixProduct): Float64Array {
  const out = new Float64Array(p.rows * p.columns);
  for (let m = 0; m < p.rows; m++) {
    for (let n = 0; n < p.columns; n++) {
      let sum = p.accumulate ? (array[p.c + m * p.cRowStride + n] as number) : 0;
      for (let k = 0; k < p.depth; k++) sum += (array[p.a + m * p.aRowStride + k * p.aDepthStride] as number) * (array[p.b + k * p.bDepthStride + n * p.bColumnStride] as number);
      out[m * p.columns + n] = sum;
    }
  }
  return out;
}

/** A product laid out densely after `gap` floats: A, then B, then C, each possibly transposed. */
function layout(rows: number, columns: number, depth: number, options: { transposeA?: boolean; transposeB?: boolean; accumulate?: boolean; threads?: number; gap?: number; cPadding?: number } = {}): { product: MatrixProduct; length: number } {
  const gap = options.gap ?? 3;
  const a = gap;
  const b = a + rows * depth + gap;
  const c = b + depth * columns + gap;
  const cRowStride = columns + (options.cPadding ?? 0);
  const product: MatrixProduct = {
    rows, columns, depth,
    a, aRowStride: options.transposeA ? 1 : depth, aDepthStride: options.transposeA ? rows : 1,
    b, bDepthStride: options.transposeB ? 1 : columns, bColumnStride: options.transposeB ? depth : 1,
    c, cRowStride, accumulate: options.accumulate ?? false, threads: options.threads ?? 1,
  };
  return { product, length: c + rows * cRowStride + gap };
}

/** Indices of C's elements (m, n) for m < rows and n < columns. */
function isInC(p: MatrixProduct, index: number): boolean {
  const offset = index - p.c;
  if (offset < 0) return false;
  const m = Math.floor(offset / p.cRowStride);
  return m < p.rows && offset - m * p.cRowStride < p.columns;
}

function checkProduct(kernels: NativeKernels, array: Float32Array, product: MatrixProduct): void {
  const before = array.slice();
  const expected = reference(array, product);
  kernels.multiplyMatrices(array, product);
  let worst = 0;
  for (let m = 0; m < product.rows; m++) {
    for (let n = 0; n < product.columns; n++) {
      const got = array[product.c + m * product.cRowStride + n] as number;
      worst = Math.max(worst, Math.abs(got - (expected[m * product.columns + n] as number)));
    }
  }
  expect(worst).toBeLessThan(1e-5 * Math.max(1, Math.sqrt(product.depth)));
  for (let index = 0; index < array.length; index++) {
    if (!isInC(product, index) && array[index] !== before[index]) throw new Error(`wrote outside C at ${index}`);
  }
}

/** Shapes around the tiles' edges: 6- and 12-row panels, 16-column strips, 256-deep blocks, 8-deep packing. */
const edgeShapes: [number, number, number][] = [
  [1, 1, 1], [5, 7, 3], [6, 16, 256], [7, 17, 257], [12, 16, 8], [13, 33, 300], [25, 31, 263], [64, 19, 513], [100, 100, 100], [3, 40, 1],
];

describe.skipIf(!load.available)('multiplyMatrices', () => {
  const kernels = (load as { kernels: NativeKernels }).kernels;

  test('runs AVX-512 where this CPU has it, AVX2 otherwise, and the addon runs the tile it is asked for', () => {
    if (flags !== undefined) expect(kernels.instructionSet).toBe(/\bavx512f\b/.test(flags) ? 'avx512' : 'avx2');
    // The addon returns the rows per panel of the tile that ran: 12 for AVX-512, 6 for AVX2.
    const addon = createRequire(import.meta.url)(addonFile) as { gemm(...values: unknown[]): unknown };
    const { product: p, length } = layout(24, 32, 16);
    const run = (avx512: boolean): unknown => addon.gemm(randomArray(length, 3), p.rows, p.columns, p.depth, p.a, p.aRowStride, p.aDepthStride, p.b, p.bDepthStride, p.bColumnStride, p.c, p.cRowStride, false, 1, avx512);
    expect(run(true)).toBe(kernels.instructionSet === 'avx512' ? 12 : 6);
    expect(run(false)).toBe(6);
  });

  test.each(edgeShapes)('%i x %i over depth %i matches float64 in every layout, and writes only C', (rows, columns, depth) => {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        for (const accumulate of [false, true]) {
          const { product, length } = layout(rows, columns, depth, { transposeA, transposeB, accumulate, cPadding: 2 });
          checkProduct(kernels, randomArray(length, rows * 31 + columns * 7 + depth), product);
        }
      }
    }
  });

  test('the result does not depend on the thread count, bit for bit', () => {
    const { product, length } = layout(203, 150, 300, { transposeB: true });
    const results = [1, 2, 3].map((threads) => {
      const array = randomArray(length, 11);
      kernels.multiplyMatrices(array, { ...product, threads });
      return array;
    });
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    const array = randomArray(length, 11);
    checkProduct(kernels, array, { ...product, threads: 2 });
  });

  test('works on a SharedArrayBuffer (the threaded tfjs-wasm memory)', () => {
    const { product, length } = layout(40, 24, 30);
    checkProduct(kernels, randomArray(length, 5, true), product);
  });

  test('depth 0 clears C (or keeps it when accumulating); an empty product writes nothing', () => {
    const { product, length } = layout(3, 4, 0);
    const array = randomArray(length, 3);
    const kept = array.slice();
    kernels.multiplyMatrices(array, { ...product, accumulate: true });
    expect(array).toEqual(kept);
    kernels.multiplyMatrices(array, product);
    for (let m = 0; m < 3; m++) for (let n = 0; n < 4; n++) expect(array[product.c + m * product.cRowStride + n]).toBe(0);
    const untouched = array.slice();
    kernels.multiplyMatrices(array, { ...product, rows: 0 });
    expect(array).toEqual(untouched);
  });

  test.each<[string, Partial<MatrixProduct>, string]>([
    ['A past the end', { a: 1000 }, 'a'],
    ['B past the end', { bDepthStride: 500 }, 'b'],
    ['C past the end', { cRowStride: 400 }, 'c'],
    ['a negative offset', { b: -1 }, 'b'],
    ['a fractional size', { rows: 2.5 }, 'rows'],
    ['a NaN stride', { aRowStride: Number.NaN }, 'aRowStride'],
    ['an offset beyond 2^31', { c: 2 ** 31 }, 'c'],
    ['ldc under columns', { cRowStride: 3 }, 'cRowStride'],
    ['no threads', { threads: 0 }, 'threads'],
    ['a string size', { depth: '4' as unknown as number }, 'depth'],
    ['a non-boolean accumulate', { accumulate: 1 as unknown as boolean }, 'accumulate'],
  ])('%s throws InvalidArgumentError naming it and writes nothing', (_name, change, argument) => {
    const { product, length } = layout(4, 5, 6);
    const array = randomArray(length, 9);
    const before = array.slice();
    let thrown: unknown;
    try {
      kernels.multiplyMatrices(array, { ...product, ...change });
    } catch (error) {
      thrown = error;
    }
    expect(InvalidArgumentError.isInstance(thrown)).toBe(true);
    expect((thrown as InvalidArgumentError).code).toBe('INVALID_ARGUMENT');
    expect((thrown as InvalidArgumentError).argument).toBe(argument);
    expect(array).toEqual(before);
  });

  test('an array other than a Float32Array is refused', () => {
    const { product } = layout(2, 2, 2);
    expect(() => kernels.multiplyMatrices(new Float64Array(64) as unknown as Float32Array, product)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'array' }));
  });

  test('fuzzed products either match float64 or throw and write nothing (both happen)', () => {
    const outcomes = { computed: 0, refused: 0 };
    fc.assert(
      fc.property(
        fc.record({
          rows: fc.integer({ min: 0, max: 20 }), columns: fc.integer({ min: 0, max: 40 }), depth: fc.integer({ min: 0, max: 40 }),
          a: fc.integer({ min: 0, max: 3000 }), aRowStride: fc.integer({ min: 0, max: 60 }), aDepthStride: fc.integer({ min: 0, max: 60 }),
          b: fc.integer({ min: 0, max: 3000 }), bDepthStride: fc.integer({ min: 0, max: 60 }), bColumnStride: fc.integer({ min: 0, max: 60 }),
          cRowStride: fc.integer({ min: 0, max: 60 }), accumulate: fc.boolean(), threads: fc.integer({ min: 1, max: 3 }),
        }),
        fc.integer({ min: 0, max: 4000 }),
        (shape, length) => {
          // C after A and B's reach, so that C never overlaps them (the one rule left to callers).
          const reach = Math.max(shape.a + Math.max(0, shape.rows - 1) * shape.aRowStride + Math.max(0, shape.depth - 1) * shape.aDepthStride, shape.b + Math.max(0, shape.depth - 1) * shape.bDepthStride + Math.max(0, shape.columns - 1) * shape.bColumnStride);
          const product: MatrixProduct = { ...shape, c: reach + 1 };
          const array = randomArray(length, length + shape.rows);
          const before = array.slice();
          try {
            kernels.multiplyMatrices(array, product);
          } catch (error) {
            expect(InvalidArgumentError.isInstance(error)).toBe(true);
            expect(array).toEqual(before);
            outcomes.refused += 1;
            return;
          }
          outcomes.computed += 1;
          const expected = reference(before, product);
          for (let m = 0; m < product.rows; m++) {
            for (let n = 0; n < product.columns; n++) {
              expect(Math.abs((array[product.c + m * product.cRowStride + n] as number) - (expected[m * product.columns + n] as number))).toBeLessThan(1e-4);
            }
          }
        },
      ),
      { numRuns: 300, seed: 42 },
    );
    // Neither side may be vacuous: a generator that only ever overflowed would prove nothing.
    expect(outcomes.computed).toBeGreaterThan(30);
    expect(outcomes.refused).toBeGreaterThan(30);
  });

  test('worker threads each get their own pool and agree with the main thread', async () => {
    const { product, length } = layout(120, 96, 200);
    const mine = randomArray(length, 21);
    kernels.multiplyMatrices(mine, { ...product, threads: 2 });
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const addon = require(workerData.addon);
      const { product: p, array } = workerData;
      addon.gemm(array, p.rows, p.columns, p.depth, p.a, p.aRowStride, p.aDepthStride, p.b, p.bDepthStride, p.bColumnStride, p.c, p.cRowStride, false, 2, true);
      parentPort.postMessage(array);`;
    const results = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<Float32Array>((resolve, reject) => {
            const worker = new Worker(source, { eval: true, workerData: { addon: addonFile, product, array: randomArray(length, 21) } });
            worker.once('message', (array: Float32Array) => void worker.terminate().then(() => resolve(array)));
            worker.once('error', reject);
          }),
      ),
    );
    for (const result of results) expect(result).toEqual(mine);
  });

  test('its threads never keep a process alive', () => {
    const script = `const addon = require(${JSON.stringify(addonFile)}); const a = new Float32Array(3 * 200 * 200); addon.gemm(a, 200, 200, 200, 0, 200, 1, 40000, 200, 1, 80000, 200, false, 4, true); console.log('done');`;
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe('done');
  });
});

describe.skipIf(!load.available)('queued products', () => {
  const kernels = (load as { kernels: NativeKernels }).kernels;

  test('give the bits of multiplyMatrices, in order of their tickets, while products split between threads go on beside them', () => {
    const shapes: [number, number, number][] = [[203, 150, 300], [7, 17, 257], [64, 19, 513], [100, 100, 100], [256, 96, 512]];
    const start = kernels.matrixProductQueue().queued;
    const expected: Float32Array[] = [];
    const queued: Float32Array[] = [];
    const tickets: number[] = [];
    shapes.forEach(([rows, columns, depth], index) => {
      for (const transposeA of [false, true]) {
        const { product, length } = layout(rows, columns, depth, { transposeA, transposeB: index % 2 === 1, accumulate: transposeA });
        const seed = rows * 7 + depth + (transposeA ? 1 : 0);
        const now = randomArray(length, seed);
        kernels.multiplyMatrices(now, product);
        expected.push(now);
        const later = randomArray(length, seed, true);
        tickets.push(kernels.queueMatrixProduct(later, product));
        queued.push(later);
        // A product split between two threads while others are queued (it pauses the queue).
        const { product: split, length: splitLength } = layout(180, 140, 260, { threads: 2 });
        checkProduct(kernels, randomArray(splitLength, index), split);
      }
    });
    expect(tickets).toEqual(tickets.map((_, index) => start + index + 1));
    expect(kernels.settleMatrixProducts()).toBe(start + tickets.length);
    expect(kernels.matrixProductQueue()).toEqual({ queued: start + tickets.length, settled: start + tickets.length });
    queued.forEach((array, index) => expect(firstBitDifference(array, expected[index] as Float32Array), `product ${index}`).toBe(-1));
  });

  test('settling one ticket settles those before it; a product with nothing to multiply is done at once (ticket 0)', () => {
    const { product, length } = layout(150, 120, 400);
    const arrays = [1, 2, 3].map((seed) => randomArray(length, seed, true));
    const tickets = arrays.map((array) => kernels.queueMatrixProduct(array, product));
    expect(kernels.settleMatrixProducts(tickets[1])).toBeGreaterThanOrEqual(tickets[1] as number);
    const check = randomArray(length, 2);
    kernels.multiplyMatrices(check, product);
    expect(firstBitDifference(arrays[1] as Float32Array, check)).toBe(-1);
    kernels.settleMatrixProducts();
    const empty = randomArray(10, 4, true);
    expect(kernels.queueMatrixProduct(empty, { ...product, rows: 0, a: 0, b: 0, c: 0 })).toBe(0);
  });

  test('a paused queue holds its products until resumed, whatever split products and settling do in between', async () => {
    const { product, length } = layout(1000, 1000, 1000);
    const unsettled = (ticket: number) => kernels.matrixProductQueue().settled < ticket;
    const wait = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));
    const array = randomArray(length, 9, true);
    const ticket = kernels.queueMatrixProduct(array, product);
    kernels.pauseQueuedProducts(true);
    // 2 GFLOP: tens of milliseconds on one thread, and it stops within one panel of the pause.
    await wait(300);
    expect(unsettled(ticket)).toBe(true);
    // A product split between threads holds the queue too while it runs, and lets go of its own hold only.
    const { product: split, length: splitLength } = layout(180, 140, 260, { threads: 2 });
    checkProduct(kernels, randomArray(splitLength, 1), split);
    await wait(300);
    expect(unsettled(ticket)).toBe(true);
    // Settling runs queued products through the pause, and the pause stays for the next ones.
    expect(kernels.settleMatrixProducts(ticket)).toBe(ticket);
    const check = randomArray(length, 9);
    kernels.multiplyMatrices(check, product);
    expect(firstBitDifference(array, check)).toBe(-1);
    const next = kernels.queueMatrixProduct(randomArray(length, 10, true), product);
    await wait(300);
    expect(unsettled(next)).toBe(true);
    kernels.pauseQueuedProducts(false);
    for (let waited = 0; unsettled(next) && waited < 10_000; waited += 20) await wait(20);
    expect(unsettled(next)).toBe(false);
  });

  test('refuses what it cannot run later, queueing nothing: memory that may move, a product that does not fit, a bad ticket or pause', () => {
    const before = kernels.matrixProductQueue();
    const { product, length } = layout(20, 20, 20);
    expect(() => kernels.queueMatrixProduct(randomArray(length, 1), product)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'array' }));
    expect(() => kernels.queueMatrixProduct(randomArray(length - 5, 1, true), product)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'c' }));
    expect(() => kernels.queueMatrixProduct(randomArray(length, 1, true), { ...product, aRowStride: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'aRowStride' }));
    expect(() => kernels.settleMatrixProducts(-1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'ticket' }));
    expect(() => kernels.pauseQueuedProducts('yes' as unknown as boolean)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'paused' }));
    expect(kernels.matrixProductQueue()).toEqual(before);
  });

  test('a process that exits with products queued exits cleanly', () => {
    const script = `const addon = require(${JSON.stringify(addonFile)}); const a = new Float32Array(new SharedArrayBuffer(4 * 3 * 500 * 500)); for (let i = 0; i < 8; i++) addon.gemmQueued(a, 500, 500, 500, 0, 500, 1, 250000, 500, 1, 500000, 500, false, 1, true); console.log('queued', addon.queueState().queued);`;
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe('queued 8');
  });
});

const avx2 = loadNativeKernels({ avx512: false });

/** The first index at which two arrays differ in their bits, or -1 (faster than a deep equality on large arrays). */
function firstBitDifference(left: Float32Array, right: Float32Array): number {
  const [leftBits, rightBits] = [new Uint32Array(left.buffer, left.byteOffset, left.length), new Uint32Array(right.buffer, right.byteOffset, right.length)];
  if (leftBits.length !== rightBits.length) return Math.min(leftBits.length, rightBits.length);
  return leftBits.findIndex((bits, index) => bits !== rightBits[index]);
}

describe.skipIf(!avx2.available)('multiplyMatrices kept to AVX2', () => {
  const kernels = (avx2 as { kernels: NativeKernels }).kernels;

  test('avx512: false and CODESTACK_NATIVE_KERNELS=avx2 both keep to AVX2', () => {
    expect(kernels.instructionSet).toBe('avx2');
    const previous = process.env.CODESTACK_NATIVE_KERNELS;
    process.env.CODESTACK_NATIVE_KERNELS = 'avx2';
    try {
      expect(loadNativeKernels()).toMatchObject({ available: true, kernels: { instructionSet: 'avx2' } });
    } finally {
      if (previous === undefined) delete process.env.CODESTACK_NATIVE_KERNELS;
      else process.env.CODESTACK_NATIVE_KERNELS = previous;
    }
  });

  test.each(edgeShapes)('%i x %i over depth %i matches float64 in every layout, and writes only C', (rows, columns, depth) => {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        const { product, length } = layout(rows, columns, depth, { transposeA, transposeB, accumulate: true, cPadding: 2 });
        checkProduct(kernels, randomArray(length, rows * 13 + columns * 5 + depth), product);
      }
    }
  });

  // Each element's sum is one chain of fused multiply-adds over k in one order on either tile.
  test.skipIf(!load.available || (load as { kernels: NativeKernels }).kernels.instructionSet !== 'avx512')(
    'the AVX-512 tile gives the same bits as the AVX2 one, in every layout and on 1 to 3 threads',
    () => {
      const wide = (load as { kernels: NativeKernels }).kernels;
      for (const [rows, columns, depth] of [...edgeShapes, [203, 150, 300] as [number, number, number]]) {
        for (const transposeA of [false, true]) {
          for (const transposeB of [false, true]) {
            for (const threads of [1, 2, 3]) {
              const { product, length } = layout(rows, columns, depth, { transposeA, transposeB, accumulate: threads === 2, threads, cPadding: 1 });
              const [narrowArray, wideArray] = [randomArray(length, rows + depth), randomArray(length, rows + depth)];
              kernels.multiplyMatrices(narrowArray, product);
              wide.multiplyMatrices(wideArray, product);
              expect(firstBitDifference(wideArray, narrowArray)).toBe(-1);
            }
          }
        }
      }
    },
  );
});

describe.skipIf(!avx2.available)('multiplyMatrices with up to four rows (decoding)', () => {
  const instructionSets = [(avx2 as { kernels: NativeKernels }).kernels, ...(load.available && load.kernels.instructionSet === 'avx512' ? [load.kernels] : [])];

  // B's rows contiguous: read in order, unpacked. B stored transposed instead goes through the
  // packed tiles. The two must agree bit for bit, at the edges of the 8- and 16-lane vectors, the
  // blocks of 64 and 128 columns and the 256-deep blocks of k.
  test.each(instructionSets.map((kernels) => [kernels.instructionSet, kernels] as const))('on %s: the bits of the packed path, for 1 to 5 rows, accumulating or not', (_, kernels) => {
    for (const rows of [1, 2, 3, 4, 5]) {
      for (const [columns, depth] of [[1, 1], [7, 5], [8, 256], [15, 257], [16, 3], [63, 40], [64, 512], [65, 300], [129, 33], [300, 600]] as const) {
        for (const accumulate of [false, true]) {
          const { product: unpacked, length } = layout(rows, columns, depth, { accumulate, cPadding: 3 });
          const values = randomArray(length, rows * 1009 + columns * 31 + depth);
          // The same B, transposed in place of the original (its own offset in a copy of the array).
          const packed = { ...unpacked, bDepthStride: 1, bColumnStride: depth };
          const transposed = values.slice();
          for (let k = 0; k < depth; k++) for (let n = 0; n < columns; n++) transposed[unpacked.b + n * depth + k] = values[unpacked.b + k * columns + n] as number;
          kernels.multiplyMatrices(values, unpacked);
          kernels.multiplyMatrices(transposed, packed);
          const c = (array: Float32Array): Float32Array => array.slice(unpacked.c, unpacked.c + rows * unpacked.cRowStride);
          expect(firstBitDifference(c(values), c(transposed)), `${rows} x ${columns} over ${depth}${accumulate ? ', accumulating' : ''}`).toBe(-1);
        }
      }
    }
  });
});

test('an avx512 option that is not a boolean is refused', () => {
  expect(() => loadNativeKernels({ avx512: 'yes' as unknown as boolean })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'avx512' }));
});
