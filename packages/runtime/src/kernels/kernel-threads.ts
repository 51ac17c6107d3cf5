import { Worker } from 'node:worker_threads';

/**
 * The control words of one helper thread (an Int32Array over its own SharedArrayBuffer):
 * the job sequence the caller bumps, the sequence the helper finished, the helper's state, and
 * the eleven arguments of one codestack_gemm_packed call.
 */
const job = 0;
const done = 1;
const state = 2;
const argumentsStart = 4;
const argumentCount = 11;
const controlWords = argumentsStart + argumentCount;
/** {@link state} values. */
const starting = 0;
const ready = 1;
const failed = 2;
/** The sequence that tells a helper to stop. */
const stop = -1;

/**
 * The helper thread: instantiates the kernels module on the shared memory it was given, says it
 * is ready, then runs one GEMM per bumped sequence and reports the sequence back. It never
 * touches the event loop while waiting (Atomics.wait), so a call costs one wake-up each way.
 */
const helperSource = `
const { workerData } = require('node:worker_threads');
const words = new Int32Array(workerData.control);
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
    try {
      gemm(${Array.from({ length: argumentCount }, (_, index) => `words[${argumentsStart + index}]`).join(', ')});
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
 * threaded build), so that a matrix product is split by rows between the calling thread and them.
 * Each helper is an unref'd worker thread blocked on Atomics.wait between calls: it never keeps
 * the host process alive, adds no handlers to it, and stops with {@link KernelThreads.dispose}.
 * A helper that has not started yet, or failed, is skipped: the calling thread does its rows.
 */
export class KernelThreads {
  private readonly helpers: Helper[];
  private readonly gemmKernel: (...values: number[]) => void;

  /**
   * Starts `count` helpers over `memory` (a shared WebAssembly.Memory) running `module` (the
   * compiled kernels module built for a shared memory); `gemm` is the calling thread's own
   * codestack_gemm_packed.
   */
  constructor(module: object, memory: object, count: number, gemm: (...values: number[]) => void) {
    this.gemmKernel = gemm;
    this.helpers = Array.from({ length: count }, () => {
      const control = new SharedArrayBuffer(controlWords * 4);
      const worker = new Worker(helperSource, { eval: true, workerData: { module, memory, control }, stdout: true, stderr: true });
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
   * codestack_gemm_packed (C [M, N] = (accumulate ? C : 0) + A · packed B, see
   * {@link WasmKernels.gemm}) with the rows of C dealt in blocks of 4 to the calling thread and
   * every ready helper. Returns when all of them have finished; the rows of a helper that failed
   * are computed on the calling thread.
   */
  gemm(m: number, n: number, k: number, a: number, am: number, ak: number, packedB: number, c: number, ldc: number, accumulate: number, packedA: number, packedAFloats: number): void {
    const working = this.helpers.filter((helper) => Atomics.load(helper.words, state) === ready);
    const share = Math.ceil(m / (working.length + 1) / 4) * 4;
    let row = 0;
    const started: { helper: Helper; row: number }[] = [];
    for (const [index, helper] of working.entries()) {
      if (row + share >= m) break;
      const words = helper.words;
      // Each thread packs its rows of A into its own block after the calling thread's.
      const values = [share, n, k, a + row * am * 4, am, ak, packedB, c + row * ldc * 4, ldc, accumulate, packedA + (index + 1) * packedAFloats * 4];
      for (let index = 0; index < values.length; index++) words[argumentsStart + index] = values[index] as number;
      helper.sequence = helper.sequence === 0x7fffffff ? 1 : helper.sequence + 1;
      Atomics.store(words, job, helper.sequence);
      Atomics.notify(words, job);
      started.push({ helper, row });
      row += share;
    }
    this.gemmKernel(m - row, n, k, a + row * am * 4, am, ak, packedB, c + row * ldc * 4, ldc, accumulate, packedA);
    for (const { helper, row: first } of started) {
      for (;;) {
        const finished = Atomics.load(helper.words, done);
        if (finished === helper.sequence) break;
        if (Atomics.wait(helper.words, done, finished, helperTimeoutMs) === 'timed-out') {
          Atomics.store(helper.words, state, failed);
          break;
        }
      }
      // A helper that trapped or stopped answering is not used again; its rows are done here.
      if (Atomics.load(helper.words, state) === failed) this.gemmKernel(share, n, k, a + first * am * 4, am, ak, packedB, c + first * ldc * 4, ldc, accumulate, packedA);
    }
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
