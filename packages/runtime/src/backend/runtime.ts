import { availableParallelism } from 'node:os';
import * as tfCore from '@tensorflow/tfjs-core';
import { CodestackError, InvalidArgumentError } from '@codestack/core';
import { BackendUnavailableError } from './backend-unavailable-error.js';
import { BackendNotActiveError } from './backend-not-active-error.js';
import { ThreadsUnavailableError } from './threads-unavailable-error.js';
import { createThreadedWasmBackend, maximumWasmThreads } from './threaded-wasm.js';
import { registerMissingGradients } from '../ops/register-gradients.js';
import type { TensorFlow } from './tensorflow.js';
import { chooseWasmKernels, releaseWasmKernels, type NativeMatrixProducts } from '../kernels/wasm-kernels.js';


/** A concrete tensor backend. */
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

/** A backend request: a concrete backend, or `auto` to take the first available in {@link backendOrder}. */
export type BackendRequest = 'auto' | BackendName;

/** The order in which `auto` tries backends: fastest first. */
export const backendOrder: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/** Loads a module by specifier; `(specifier) => import(specifier)` by default. Injectable for tests. */
export type ModuleLoader = (specifier: string) => Promise<unknown>;

/** Why one backend was skipped while choosing. */
export interface BackendAttempt {
  /** The backend that was tried. */
  backend: BackendName;
  /** Why it could not be used. */
  reason: string;
}

/**
 * How many threads the `wasm` backend's kernels use: a count from 1 to 8, or `auto` for one per
 * logical core (at most 8).
 */
export type ThreadsRequest = number | 'auto';

/**
 * The default of {@link RuntimeOptions.threads}: one thread.
 *
 * Chosen from `npm run bench -w packages/runtime` on the shared 2-core development machine
 * (docs/runtime.md, "Threads and PyTorch"): two threads of the threaded SIMD build against the
 * single-threaded SIMD build, each in a fresh process, alternating, medians of 3. At the load
 * average of that session (8–12) two threads were slower on every row (1M training 227 against
 * 392 tokens/s; cached decode 12–22 against 46–92), because each kernel waits at a barrier for
 * a descheduled second thread. A data-parallel trainer (`workers`) already puts one thread on
 * each core. Use `threads: 2` or `'auto'` on a machine with idle cores, and measure.
 */
export const defaultThreads: ThreadsRequest = 1;

/** Options of {@link createRuntime}. */
export interface RuntimeOptions {
  /** The backend to use; `auto` (the default) tries {@link backendOrder} in order. */
  backend?: BackendRequest;
  /**
   * Threads for the `wasm` backend (default {@link defaultThreads}). More than one runs the
   * threaded SIMD build of tfjs-backend-wasm under Node's worker_threads, so that one matMul or
   * convolution uses several cores; one runs the single-threaded SIMD build. A count above 1
   * that cannot be honoured throws {@link ThreadsUnavailableError}; `auto` falls back to one
   * thread instead. The `cpu` backend has one thread only (a count above 1 throws); the
   * `tensorflow` backends ignore this and use libtensorflow's own thread pool.
   *
   * TensorFlow.js has one `wasm` backend per process: creating a wasm runtime with another
   * thread count replaces it, and the earlier wasm runtime's tensors are gone; that runtime then
   * throws {@link BackendNotActiveError} until its `activate()` builds its own again.
   */
  threads?: ThreadsRequest;
  /** How optional backend modules are imported. Tests inject a loader that fails on purpose. */
  loadModule?: ModuleLoader;
  /**
   * Which kernels do the hot work on the `wasm` backend: `codestack` (the default) runs
   * codestack's own WebAssembly SIMD kernels where they apply (the matrix products, attention,
   * RMSNorm, SwiGLU, the cross-entropy loss and AdamW in training, the whole cached decode step
   * with its key/value cache), on tfjs-wasm's own memory; `tfjs` uses tfjs-wasm's kernels only
   * (the bench compares the two). The choice belongs to the backend instance, so it holds for every
   * runtime on that wasm build in the process, the last one created deciding. The other backends
   * ignore it.
   */
  kernels?: KernelChoice;
  /**
   * Whether codestack's kernels on the `wasm` backend hand their matrix products to
   * `@codestack/native-kernels` (default `true`): an optional dependency that npm builds from C
   * with node-gyp at install, which computes them in place in tfjs-wasm's memory on the CPU's
   * AVX-512 units where it has them, else on AVX2 and FMA (the same results bit for bit), on
   * {@link Runtime.threads} threads of its own. On the shared 2-core development machine that made
   * training steps of the bench's 1M and 5M models 2.1–3.0× faster than on the WebAssembly
   * products (docs/runtime.md, Parts G and H). Where the addon is missing, was not built or the
   * CPU lacks AVX2 and FMA, the WebAssembly kernels run instead and {@link Runtime.device} does not mention it; `CODESTACK_NATIVE_KERNELS=0` in the
   * environment turns it off as `false` does, and `CODESTACK_NATIVE_KERNELS=avx2` keeps it to AVX2.
   * Ignored with `kernels: 'tfjs'` and on the other backends.
   */
  nativeKernels?: boolean;
}

/** See {@link RuntimeOptions.kernels}. */
export type KernelChoice = 'codestack' | 'tfjs';

/**
 * An explicit tensor runtime: it owns TensorFlow.js (`tf`) and the backend it chose.
 *
 * TensorFlow.js has ONE global engine per process. {@link createRuntime} switches that engine to
 * the chosen backend once, when it is created, and never again behind your back. Every model and
 * trainer operation checks {@link Runtime.assertActive}; if another runtime switched the engine
 * since, it throws {@link BackendNotActiveError} and you must call {@link Runtime.activate}.
 */
export interface Runtime {
  /** The TensorFlow.js namespace to build tensors with. */
  readonly tf: TensorFlow;
  /** The backend in use. */
  readonly backend: BackendName;
  /** A human-readable description of the device, e.g. `WebAssembly (SIMD, 1 thread)`. */
  readonly device: string;
  /** The backends tried before this one, with the reason each was unavailable. */
  readonly skipped: readonly BackendAttempt[];
  /**
   * The threads one kernel runs on: the `wasm` thread count, 1 for `cpu`, and undefined for the
   * `tensorflow` backends (libtensorflow sizes its own pool).
   */
  readonly threads: number | undefined;
  /** Switches TensorFlow.js's global engine (back) to this runtime's backend. */
  activate(): Promise<void>;
  /** Throws {@link BackendNotActiveError} when the global engine is on another backend. */
  assertActive(): void;
  /**
   * Releases what this runtime holds outside tensors: for a threaded `wasm` runtime, its
   * WebAssembly instance and pthread workers (the `wasm` backend goes back to the single-threaded
   * build). Its tensors are invalid afterwards. For the other backends it does nothing. A host
   * process exits by itself without calling it too: the pthread workers never keep it alive.
   */
  dispose(): void;
}

interface BackendSpec {
  modules: string[];
  tfjsName: string;
  installHint: string;
  device: (tf: TensorFlow, threads?: number) => Promise<string>;
}

const backendSpecs: Record<BackendName, BackendSpec> = {
  'tensorflow-gpu': {
    modules: ['@tensorflow/tfjs-node-gpu'],
    tfjsName: 'tensorflow',
    installHint: 'Install it with `npm install @tensorflow/tfjs-node-gpu` on Linux x64 with CUDA 11.8 and cuDNN 8.',
    device: async () => 'GPU (libtensorflow with CUDA)',
  },
  tensorflow: {
    modules: ['@tensorflow/tfjs-node'],
    tfjsName: 'tensorflow',
    installHint: 'Install it with `npm install @tensorflow/tfjs-node` (it downloads libtensorflow at install time).',
    device: async () => 'CPU (libtensorflow native)',
  },
  wasm: {
    modules: ['@tensorflow/tfjs-backend-wasm'],
    tfjsName: 'wasm',
    installHint: 'Install it with `npm install @tensorflow/tfjs-backend-wasm`.',
    device: async (tf, threads = 1) => {
      const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
      return `WebAssembly (${simd ? 'SIMD' : 'no SIMD'}, ${threads === 1 ? '1 thread' : `${threads} threads`})`;
    },
  },
  cpu: {
    modules: ['@tensorflow/tfjs-backend-cpu'],
    tfjsName: 'cpu',
    installHint: 'Install it with `npm install @tensorflow/tfjs-backend-cpu`.',
    device: async () => 'CPU (plain JavaScript)',
  },
};

const defaultLoader: ModuleLoader = (specifier) => import(specifier);

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0] ?? error.name : String(error);
}

const processEvents = ['uncaughtException', 'unhandledRejection'] as const;

/**
 * Runs `load` and then removes the `uncaughtException` and `unhandledRejection` listeners it
 * added. The Emscripten glue of tfjs-backend-wasm installs handlers that rethrow from inside the
 * handler, which makes Node report every later error of the host application from
 * `tf-backend-wasm.node.js` and exit with code 7, and overrides the application's own
 * `unhandledRejection` handler. A library must not change how its host process fails.
 */
async function withoutAddedProcessHandlers<T>(load: () => Promise<T>): Promise<T> {
  // One event name type at a time: `process.listeners` is overloaded per event.
  const listeners = (event: (typeof processEvents)[number]): NodeJS.UncaughtExceptionListener[] =>
    process.listeners(event as 'uncaughtException');
  const before = new Map(processEvents.map((event) => [event, new Set(listeners(event))]));
  try {
    return await load();
  } finally {
    for (const event of processEvents) {
      const existing = before.get(event)!;
      for (const listener of listeners(event)) {
        if (!existing.has(listener)) process.removeListener(event as 'uncaughtException', listener);
      }
    }
  }
}

/** A resolved thread request: the count, and whether a count above 1 must be honoured. */
interface ThreadPlan {
  threads: number;
  strict: boolean;
}

function planThreads(request: ThreadsRequest): ThreadPlan {
  if (request === 'auto') return { threads: Math.min(availableParallelism(), maximumWasmThreads), strict: false };
  if (!Number.isInteger(request) || request < 1 || request > maximumWasmThreads) {
    throw new InvalidArgumentError({
      argument: 'threads',
      message: `expected 'auto' or an integer from 1 to ${maximumWasmThreads}, got ${JSON.stringify(request)}`,
    });
  }
  return { threads: request, strict: request > 1 };
}

/**
 * Which build of the `wasm` backend is registered with TensorFlow.js: its thread count and a
 * generation that changes each time the registration is replaced (which destroys the tensors
 * of the one before).
 */
const wasmRegistration = { threads: 1, generation: 0 };
/** tfjs-backend-wasm's own (single-threaded) factory, kept while a threaded one replaces it. */
let singleThreadedWasmFactory: (() => tfCore.KernelBackend | Promise<tfCore.KernelBackend>) | undefined;

/** Removes the registered `wasm` backend, first stopping what codestack's kernels started on it (their helper threads). */
function releaseWasmBackend(tf: TensorFlow): void {
  const instance = (tf.engine().registry as Record<string, object | undefined>).wasm;
  if (instance !== undefined) releaseWasmKernels(instance);
  tf.removeBackend('wasm');
}

function replaceWasmRegistration(tf: TensorFlow, factory: () => tfCore.KernelBackend | Promise<tfCore.KernelBackend>, threads: number): void {
  if (wasmRegistration.threads === 1 && singleThreadedWasmFactory === undefined) {
    const original = tf.findBackendFactory('wasm');
    if (original !== null && original !== undefined) singleThreadedWasmFactory = original;
  }
  releaseWasmBackend(tf);
  tf.registerBackend('wasm', factory, 2);
  wasmRegistration.threads = threads;
  wasmRegistration.generation += 1;
}

/**
 * Switches the engine to `tfjsName` and throws when it did not start. `tf.setBackend` returns
 * false (and only prints a warning) when a backend's factory fails, and a `tf.ready()` after
 * that quietly starts the next registered backend instead, so neither result may be ignored.
 */
async function switchBackend(tf: TensorFlow, tfjsName: string): Promise<void> {
  const previous = tf.getBackend();
  if (!(await tf.setBackend(tfjsName))) {
    // The failed call left the engine named `tfjsName` with no instance; go back to the backend
    // that ran before, when it still has one, so that the engine says what it runs.
    if (previous !== undefined && previous !== null && previous !== tfjsName && tf.engine().registry[previous] !== undefined) await tf.setBackend(previous);
    throw new Error(`the backend failed to start: tf.setBackend('${tfjsName}') returned false (TensorFlow.js printed the cause as a warning)`);
  }
  await tf.ready();
  const active = tf.getBackend();
  if (active !== tfjsName) throw new Error(`the backend failed to start: TensorFlow.js is on '${String(active)}' after setBackend('${tfjsName}')`);
}

/**
 * Registers (if needed) and activates the `wasm` build with `threads` threads; returns the
 * generation of the registration in use.
 */
async function activateWasm(tf: TensorFlow, threads: number, loadModule: ModuleLoader, keep?: number): Promise<number> {
  if (wasmRegistration.threads !== threads || (keep !== undefined && keep !== wasmRegistration.generation)) {
    if (threads > 1) {
      const { backend } = await createThreadedWasmBackend(tf, threads, loadModule);
      replaceWasmRegistration(tf, () => backend, threads);
    } else if (singleThreadedWasmFactory !== undefined) {
      replaceWasmRegistration(tf, singleThreadedWasmFactory, 1);
    }
  }
  await switchBackend(tf, 'wasm');
  return wasmRegistration.generation;
}

async function tryBackend(name: BackendName, loadModule: ModuleLoader, plan: ThreadPlan): Promise<Runtime> {
  return withoutAddedProcessHandlers(() => loadBackend(name, loadModule, plan));
}

async function loadBackend(name: BackendName, loadModule: ModuleLoader, plan: ThreadPlan): Promise<Runtime> {
  const spec = backendSpecs[name];
  if (name === 'cpu' && plan.strict) throw new ThreadsUnavailableError({ threads: plan.threads, reason: 'the cpu backend runs its kernels on one thread' });
  let tf: TensorFlow = tfCore;
  for (const specifier of spec.modules) {
    let loaded: unknown;
    try {
      loaded = await loadModule(specifier);
    } catch (error) {
      throw new BackendUnavailableError({
        backend: name,
        installHint: spec.installHint,
        reason: `cannot load ${specifier} (${describe(error)})`,
        cause: error,
      });
    }
    // tfjs-node re-exports a full TensorFlow.js namespace; use it so tensors match its engine.
    if (typeof loaded === 'object' && loaded !== null && 'setBackend' in loaded && 'tensor' in loaded) {
      tf = loaded as TensorFlow;
    }
  }
  let threads: number | undefined = name === 'wasm' ? plan.threads : name === 'cpu' ? 1 : undefined;
  let generation: number | undefined;
  let ok = false;
  try {
    if (name === 'wasm') {
      try {
        generation = await activateWasm(tf, plan.threads, loadModule);
      } catch (error) {
        if (plan.strict || !ThreadsUnavailableError.isInstance(error)) throw error;
        threads = 1;
        generation = await activateWasm(tf, 1, loadModule);
      }
      ok = true;
    } else {
      await switchBackend(tf, spec.tfjsName);
      ok = true;
    }
  } catch (error) {
    if (ThreadsUnavailableError.isInstance(error)) throw error;
    throw new BackendUnavailableError({
      backend: name,
      installHint: spec.installHint,
      reason: `initialisation failed (${describe(error)})`,
      cause: error,
    });
  }
  if (!ok || tf.getBackend() !== spec.tfjsName) {
    throw new BackendUnavailableError({ backend: name, installHint: spec.installHint, reason: 'TensorFlow.js refused to initialise it' });
  }
  registerMissingGradients(tf);
  const device = await spec.device(tf, threads);
  return makeRuntime({ tf, backend: name, device, skipped: [], threads, generation, loadModule });
}

interface RuntimeParts {
  tf: TensorFlow;
  backend: BackendName;
  device: string;
  skipped: BackendAttempt[];
  threads: number | undefined;
  /** For `wasm`: the registration generation this runtime's tensors live in. */
  generation: number | undefined;
  loadModule: ModuleLoader;
}

function makeRuntime(parts: RuntimeParts): Runtime {
  const { tf, backend, device, skipped, threads, loadModule } = parts;
  const tfjsName = backendSpecs[backend].tfjsName;
  let generation = parts.generation;
  // A failed `setBackend` leaves the engine named after a backend with no instance: check both.
  const current = (): boolean =>
    tf.getBackend() === tfjsName && tf.engine().registry[tfjsName] !== undefined && (generation === undefined || generation === wasmRegistration.generation);
  return {
    tf,
    backend,
    device,
    skipped,
    threads,
    async activate() {
      if (current()) return;
      const spec = backendSpecs[backend];
      await withoutAddedProcessHandlers(async () => {
        if (generation !== undefined) {
          generation = await activateWasm(tf, threads ?? 1, loadModule, generation);
        } else {
          await switchBackend(tf, tfjsName);
        }
      }).catch((error: unknown) => {
        if (CodestackError.isInstance(error)) throw error;
        throw new BackendUnavailableError({ backend, installHint: spec.installHint, reason: `activation failed (${describe(error)})`, cause: error });
      });
    },
    assertActive() {
      if (current()) return;
      const active = tf.getBackend();
      const activeBackend = active === 'wasm' && generation !== undefined ? `wasm (another instance, ${wasmRegistration.threads} thread${wasmRegistration.threads === 1 ? '' : 's'})` : String(active);
      throw new BackendNotActiveError({ backend, activeBackend });
    },
    dispose() {
      if (generation === undefined || generation !== wasmRegistration.generation || wasmRegistration.threads === 1) return;
      if (singleThreadedWasmFactory !== undefined) replaceWasmRegistration(tf, singleThreadedWasmFactory, 1);
      else {
        releaseWasmBackend(tf);
        wasmRegistration.generation += 1;
      }
    },
  };
}

/** The native matrix products of `@codestack/native-kernels`, or undefined where it is absent or unavailable here. */
async function loadNativeMatrixProducts(loadModule: ModuleLoader): Promise<NativeMatrixProducts | undefined> {
  try {
    const module = (await loadModule('@codestack/native-kernels')) as { loadNativeKernels?: () => { available: boolean; kernels?: NativeMatrixProducts } };
    const load = module.loadNativeKernels?.();
    return load?.available === true ? load.kernels : undefined;
  } catch {
    return undefined;
  }
}

/** Applies the `kernels` and native choices to a wasm runtime's backend, now and whenever `activate()` builds it again. */
async function withKernelChoice(runtime: Runtime, kernels: KernelChoice, native: boolean, loadModule: ModuleLoader): Promise<Runtime> {
  if (runtime.backend !== 'wasm') return runtime;
  const products = kernels === 'codestack' && native ? await loadNativeMatrixProducts(loadModule) : undefined;
  const apply = (): void => chooseWasmKernels(runtime.tf, kernels === 'codestack', products);
  apply();
  const activate = runtime.activate.bind(runtime);
  return Object.assign(runtime, {
    device: products === undefined ? runtime.device : `${runtime.device}, matrix products native (${products.instructionSet === 'avx512' ? 'AVX-512' : 'AVX2, FMA'})`,
    async activate() {
      await activate();
      apply();
    },
  });
}

/**
 * Creates a {@link Runtime}. With `backend: 'auto'` it tries `tensorflow-gpu`, `tensorflow`,
 * `wasm` and `cpu` in that order and records in `skipped` why each earlier one was unavailable.
 * An explicitly requested backend that is unavailable throws {@link BackendUnavailableError}
 * with an install hint; more threads than can be honoured throw {@link ThreadsUnavailableError}
 * (see {@link RuntimeOptions.threads}).
 *
 * This switches TensorFlow.js's global engine to the chosen backend. Creating a second runtime
 * with another backend switches it again; the first runtime then refuses to run until you call
 * its `activate()`.
 */
export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const request = options.backend ?? 'auto';
  const loadModule = options.loadModule ?? defaultLoader;
  if (request !== 'auto' && !backendOrder.includes(request)) {
    throw new InvalidArgumentError({
      argument: 'backend',
      message: `expected 'auto' or one of ${backendOrder.join(', ')}, got ${JSON.stringify(request)}`,
    });
  }
  const kernels = options.kernels ?? 'codestack';
  if (kernels !== 'codestack' && kernels !== 'tfjs') {
    throw new InvalidArgumentError({ argument: 'kernels', message: `expected 'codestack' or 'tfjs', got ${JSON.stringify(kernels)}` });
  }
  const native = options.nativeKernels ?? true;
  if (typeof native !== 'boolean') {
    throw new InvalidArgumentError({ argument: 'nativeKernels', message: `expected a boolean, got ${JSON.stringify(native)}` });
  }
  const plan = planThreads(options.threads ?? defaultThreads);
  if (request !== 'auto') return withKernelChoice(await tryBackend(request, loadModule, plan), kernels, native, loadModule);
  const skipped: BackendAttempt[] = [];
  for (const name of backendOrder) {
    try {
      const runtime = await tryBackend(name, loadModule, plan);
      return await withKernelChoice(Object.assign(runtime, { skipped }), kernels, native, loadModule);
    } catch (error) {
      if (ThreadsUnavailableError.isInstance(error)) throw error;
      skipped.push({ backend: name, reason: describe(error) });
    }
  }
  throw new BackendUnavailableError({
    backend: 'auto',
    installHint: 'Install @tensorflow/tfjs-backend-wasm or @tensorflow/tfjs-backend-cpu.',
    reason: skipped.map((attempt) => `${attempt.backend}: ${attempt.reason}`).join('; '),
  });
}
