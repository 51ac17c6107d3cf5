import { Worker } from 'node:worker_threads';

/** The control words of one helper (an Int32Array over its own SharedArrayBuffer). */
const job = 0;
const done = 1;
const state = 2;
const controlWords = 4;
/** {@link state} values. */
const ready = 1;
const failed = 2;
/** The sequence that tells a helper to stop. */
const stop = -1;

/**
 * The call table every thread shares (an Int32Array over one SharedArrayBuffer): a header, then
 * the calls of one {@link KernelThreads.run}, each `width` integer arguments.
 */
const claim = 0;
const callCount = 1;
const functionSlot = 2;
const callWidth = 3;
const scratchArgument = 4;
const scratchStride = 5;
/** A bit mask of the arguments that are floats (read through a float view of the table). */
const floatMask = 6;
const headerWords = 8;
/** At most this many calls per run, of at most this many arguments. */
const maximumCalls = 64;
const maximumArguments = 16;

/** The kernel exports a run may call, by index in the table's header. */
export const threadedKernels = [
  'codestack_gemm_packed',
  'codestack_causal_attention_forward',
  'codestack_causal_attention_backward',
  'codestack_swiglu_forward',
  'codestack_swiglu_backward',
  'codestack_rms_norm_forward',
  'codestack_adamw',
  'codestack_rotary',
  'codestack_heads_layout',
  'codestack_cross_entropy_forward',
  'codestack_cross_entropy_backward',
] as const;

/** One of {@link threadedKernels}. */
export type ThreadedKernel = (typeof threadedKernels)[number];

/**
 * The helper thread: instantiates the kernels module on the shared memory it was given, says it
 * is ready, then per bumped sequence claims calls from the table (Atomics.add on its counter)
 * until none are left, flags each one done, and reports the sequence back. A call's scratch
 * argument (if any) is moved to this thread's own block; float arguments are read through a float
 * view of the same words. It waits with Atomics.wait, never on
 * the event loop, so a run costs one wake-up each way.
 */
const helperSource = `
const { workerData } = require('node:worker_threads');
const words = new Int32Array(workerData.control);
const table = new Int32Array(workerData.table);
const floats = new Float32Array(workerData.table);
const flags = new Int32Array(workerData.flags);
try {
  const { exports } = new WebAssembly.Instance(workerData.module, { env: { memory: workerData.memory } });
  const functions = workerData.names.map((name) => exports[name]);
  Atomics.store(words, ${state}, ${ready});
  let seen = 0;
  for (;;) {
    Atomics.wait(words, ${job}, seen);
    const sequence = Atomics.load(words, ${job});
    if (sequence === ${stop}) break;
    seen = sequence;
    const kernel = functions[table[${functionSlot}]];
    const count = table[${callCount}], width = table[${callWidth}], scratchAt = table[${scratchArgument}];
    const shift = workerData.slot * table[${scratchStride}];
    const mask = table[${floatMask}];
    try {
      for (let call = Atomics.add(table, ${claim}, 1); call < count; call = Atomics.add(table, ${claim}, 1)) {
        const first = ${headerWords} + call * width;
        const values = new Array(width);
        for (let index = 0; index < width; index++) values[index] = (mask >> index) & 1 ? floats[first + index] : table[first + index];
        if (scratchAt >= 0) values[scratchAt] += shift;
        kernel(...values);
        Atomics.store(flags, call, 1);
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
 * Helper threads of codestack's own that run the kernels on tfjs-wasm's shared memory (the
 * threaded build) beside the calling thread: a {@link KernelThreads.run} is a table of
 * independent calls (row chunks of a product, slices of attention) that every thread claims one
 * at a time as it finishes the last, so a thread that starts late or runs slower (a busy core)
 * takes fewer. Each helper is an unref'd worker thread blocked on Atomics.wait between runs: it
 * never keeps the host process alive, adds no handlers to it, and stops with
 * {@link KernelThreads.dispose}. A helper that has not started yet, or failed, is skipped, and the
 * calls a failed helper left are made by the calling thread.
 */
export class KernelThreads {
  private readonly helpers: Helper[];
  private readonly table: Int32Array;
  private readonly tableFloats: Float32Array;
  private readonly flags: Int32Array;
  private readonly functions: ((...values: number[]) => void)[];

  /**
   * Starts `count` helpers over `memory` (a shared WebAssembly.Memory) running `module` (the
   * compiled kernels module built for a shared memory); `exports` are the calling thread's own.
   */
  constructor(module: object, memory: object, count: number, exports: Record<string, unknown>) {
    this.functions = threadedKernels.map((name) => exports[name] as (...values: number[]) => void);
    const table = new SharedArrayBuffer((headerWords + maximumCalls * maximumArguments) * 4);
    const flags = new SharedArrayBuffer(maximumCalls * 4);
    this.table = new Int32Array(table);
    this.tableFloats = new Float32Array(table);
    this.flags = new Int32Array(flags);
    this.helpers = Array.from({ length: count }, (_, index) => {
      const control = new SharedArrayBuffer(controlWords * 4);
      const workerData = { module, memory, control, table, flags, names: [...threadedKernels], slot: index + 1 };
      const worker = new Worker(helperSource, { eval: true, workerData, stdout: true, stderr: true });
      worker.unref();
      // A helper that fails is marked failed in its words and skipped; no error reaches the host.
      worker.on('error', () => undefined);
      return { worker, words: new Int32Array(control), sequence: 0 };
    });
  }

  /** The threads a run can use: the calling thread and the helpers that are ready. */
  get readyThreads(): number {
    return 1 + this.helpers.filter((helper) => Atomics.load(helper.words, state) === ready).length;
  }

  /**
   * Makes every call of `kernel` in `calls` (at most 64 calls of at most 16 arguments, all of one
   * length), shared between the calling thread and the ready helpers. Arguments are integers but
   * those listed in `options.floatArguments`, which are passed as float32. Argument
   * `options.scratch.argument` of every call is a scratch offset that thread `t` (the caller is
   * 0, helper i is i + 1) moves by `t * scratch.strideBytes`, so each thread has its own block.
   * Returns when every call is made.
   */
  run(kernel: ThreadedKernel, calls: readonly (readonly number[])[], options: { scratch?: { argument: number; strideBytes: number }; floatArguments?: readonly number[] } = {}): void {
    const width = calls[0]?.length ?? 0;
    if (calls.length > maximumCalls || width > maximumArguments || calls.some((call) => call.length !== width)) throw new Error('too many kernel calls for one run');
    const { scratch, floatArguments = [] } = options;
    const table = this.table;
    table[functionSlot] = threadedKernels.indexOf(kernel);
    table[callCount] = calls.length;
    table[callWidth] = width;
    table[scratchArgument] = scratch?.argument ?? -1;
    table[scratchStride] = scratch?.strideBytes ?? 0;
    const mask = floatArguments.reduce((bits, argument) => bits | (1 << argument), 0);
    table[floatMask] = mask;
    for (const [index, call] of calls.entries()) {
      const first = headerWords + index * width;
      for (const [argument, value] of call.entries()) {
        if ((mask >> argument) & 1) this.tableFloats[first + argument] = value;
        else table[first + argument] = value;
      }
    }
    this.flags.fill(0, 0, calls.length);
    Atomics.store(table, claim, 0);
    const working = this.helpers.filter((helper) => Atomics.load(helper.words, state) === ready);
    for (const helper of working) {
      helper.sequence = helper.sequence === 0x7fffffff ? 1 : helper.sequence + 1;
      Atomics.store(helper.words, job, helper.sequence);
      Atomics.notify(helper.words, job);
    }
    const functionToCall = this.functions[threadedKernels.indexOf(kernel)] as (...values: number[]) => void;
    const make = (index: number): void => {
      functionToCall(...(calls[index] as number[]));
      Atomics.store(this.flags, index, 1);
    };
    for (let index = Atomics.add(table, claim, 1); index < calls.length; index = Atomics.add(table, claim, 1)) make(index);
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
    // A helper that trapped or stopped answering is not used again; its calls are made here.
    if (incomplete) for (let index = 0; index < calls.length; index++) if (Atomics.load(this.flags, index) === 0) make(index);
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
