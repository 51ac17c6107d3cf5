import { Worker } from 'node:worker_threads';

/**
 * The control words of one helper thread (an Int32Array over its own SharedArrayBuffer): the job
 * sequence the caller bumps, the sequence the helper finished, the helper's state, the arguments
 * of one product (codestack_gemm_packed's for the whole of C, then the rows per chunk), and the
 * byte offset of the helper's own packed-A block.
 */
const job = 0;
const done = 1;
const state = 2;
const argumentsStart = 4;
/** m, n, k, a, am, ak, packedB, c, ldc, accumulate, packedA, chunk rows. */
const argumentCount = 12;
const controlWords = argumentsStart + argumentCount;
/** {@link state} values. */
const ready = 1;
const failed = 2;
/** The sequence that tells a helper to stop. */
const stop = -1;
/**
 * The words every thread shares for one product: [0] the next chunk to claim, then one flag per
 * chunk, set when it is written.
 */
const maximumChunks = 64;

/**
 * The helper thread: instantiates the kernels module on the shared memory it was given, says it
 * is ready, then per bumped sequence claims chunks of rows (Atomics.add on the shared counter)
 * until none are left, and reports the sequence back. It waits with Atomics.wait, never on the
 * event loop, so a call costs one wake-up each way.
 */
const helperSource = `
const { workerData } = require('node:worker_threads');
const words = new Int32Array(workerData.control);
const chunks = new Int32Array(workerData.chunks);
try {
  const { exports } = new WebAssembly.Instance(workerData.module, { env: { memory: workerData.memory } });
  const gemm = exports.codestack_gemm_packed;
  Atomics.store(words, ${state}, ${ready});
  let seen = 0;
  for (;;) {
    Atomics.wait(words, ${job}, seen);
    const sequence = Atomics.load(words, ${job});
    if (sequence === ${stop}) break;
    seen = sequence;
    const [m, n, k, a, am, ak, packedB, c, ldc, accumulate, packedA, rows] = words.subarray(${argumentsStart}, ${argumentsStart + argumentCount});
    try {
      for (let chunk = Atomics.add(chunks, 0, 1); chunk * rows < m; chunk = Atomics.add(chunks, 0, 1)) {
        const first = chunk * rows;
        gemm(Math.min(rows, m - first), n, k, (a >>> 0) + first * am * 4, am, ak, packedB >>> 0, (c >>> 0) + first * ldc * 4, ldc, accumulate, packedA >>> 0);
        Atomics.store(chunks, 1 + chunk, 1);
      }
    } catch {
      Atomics.store(words, ${state}, ${failed});
    }
    Atomics.store(words, ${done}, sequence);
    Atomics.notify(words, ${done});
  }
} catch {
  Atomics.store(words, ${state}, ${failed});
}
`;

/** How long the calling thread waits for a helper before it gives up on it (a helper that was killed). */
const helperTimeoutMs = 60_000;

interface Helper {
  worker: Worker;
  words: Int32Array;
  sequence: number;
}

/**
 * Helper threads of codestack's own that run the kernels' GEMM on tfjs-wasm's shared memory (the
 * threaded build), so that a matrix product's rows are shared between the calling thread and them.
 * Rows go out in chunks that each thread claims as it finishes the last, so a thread that starts
 * late or runs slower (a busy core) takes fewer. Each helper is an unref'd worker thread blocked
 * on Atomics.wait between calls: it never keeps the host process alive, adds no handlers to it,
 * and stops with {@link KernelThreads.dispose}. A helper that has not started yet, or failed, is
 * skipped: the calling thread does its rows.
 */
export class KernelThreads {
  private readonly helpers: Helper[];
  private readonly chunks: Int32Array;
  private readonly gemmKernel: (...values: number[]) => void;

  /**
   * Starts `count` helpers over `memory` (a shared WebAssembly.Memory) running `module` (the
   * compiled kernels module built for a shared memory); `gemm` is the calling thread's own
   * codestack_gemm_packed.
   */
  constructor(module: object, memory: object, count: number, gemm: (...values: number[]) => void) {
    this.gemmKernel = gemm;
    const chunks = new SharedArrayBuffer((1 + maximumChunks) * 4);
    this.chunks = new Int32Array(chunks);
    this.helpers = Array.from({ length: count }, () => {
      const control = new SharedArrayBuffer(controlWords * 4);
      const worker = new Worker(helperSource, { eval: true, workerData: { module, memory, control, chunks }, stdout: true, stderr: true });
      worker.unref();
      // A helper that fails is marked failed in its words and skipped; no error reaches the host.
      worker.on('error', () => undefined);
      return { worker, words: new Int32Array(control), sequence: 0 };
    });
  }

  /** The threads a product can use: the calling thread and the helpers that are ready. */
  get readyThreads(): number {
    return 1 + this.helpers.filter((helper) => Atomics.load(helper.words, state) === ready).length;
  }

  /**
   * codestack_gemm_packed over all of C [M, N] (C = (accumulate ? C : 0) + A · packed B, see
   * {@link WasmKernels.gemm}), its rows claimed in chunks by the calling thread and every ready
   * helper; each thread packs its rows of A into its own block of `packedAFloats` floats after
   * `packedA` (the calling thread's). Returns when every chunk is written; chunks a failed helper
   * left are written by the calling thread.
   */
  gemm(m: number, n: number, k: number, a: number, am: number, ak: number, packedB: number, c: number, ldc: number, accumulate: number, packedA: number, packedAFloats: number): void {
    const working = this.helpers.filter((helper) => Atomics.load(helper.words, state) === ready);
    const threads = working.length + 1;
    // About four chunks per thread (the last one a thread finishes is what the others may wait
    // for; eight measured no better), in whole 4-row blocks, at most maximumChunks.
    const rows = Math.max(Math.ceil(m / (4 * threads) / 4) * 4, Math.ceil(m / maximumChunks / 4) * 4);
    const count = Math.ceil(m / rows);
    this.chunks.fill(0, 0, 1 + count);
    for (const [index, helper] of working.entries()) {
      const values = [m, n, k, a, am, ak, packedB, c, ldc, accumulate, packedA + (index + 1) * packedAFloats * 4, rows];
      for (let position = 0; position < argumentCount; position++) helper.words[argumentsStart + position] = values[position] as number;
      helper.sequence = helper.sequence === 0x7fffffff ? 1 : helper.sequence + 1;
      Atomics.store(helper.words, job, helper.sequence);
      Atomics.notify(helper.words, job);
    }
    const run = (chunk: number): void => {
      const first = chunk * rows;
      this.gemmKernel(Math.min(rows, m - first), n, k, a + first * am * 4, am, ak, packedB, c + first * ldc * 4, ldc, accumulate, packedA);
      Atomics.store(this.chunks, 1 + chunk, 1);
    };
    for (let chunk = Atomics.add(this.chunks, 0, 1); chunk < count; chunk = Atomics.add(this.chunks, 0, 1)) run(chunk);
    let incomplete = false;
    for (const helper of working) {
      for (;;) {
        const finished = Atomics.load(helper.words, done);
        if (finished === helper.sequence) break;
        if (Atomics.wait(helper.words, done, finished, helperTimeoutMs) === 'timed-out') {
          Atomics.store(helper.words, state, failed);
          break;
        }
      }
      if (Atomics.load(helper.words, state) === failed) incomplete = true;
    }
    // A helper that trapped or stopped answering is not used again; its chunks are written here.
    if (incomplete) for (let chunk = 0; chunk < count; chunk++) if (Atomics.load(this.chunks, 1 + chunk) === 0) run(chunk);
  }

  /** Stops the helpers (each leaves its wait and ends; then it is terminated). */
  dispose(): void {
    for (const helper of this.helpers) {
      Atomics.store(helper.words, job, stop);
      Atomics.notify(helper.words, job);
      void helper.worker.terminate();
    }
    this.helpers.length = 0;
  }
}
