import * as tfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@codestack/core';
import { BackendUnavailableError } from './backend-unavailable-error.js';
import { BackendNotActiveError } from './backend-not-active-error.js';
import { registerMissingGradients } from '../ops/register-gradients.js';
import type { TensorFlow } from './tensorflow.js';


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

/** Options of {@link createRuntime}. */
export interface RuntimeOptions {
  /** The backend to use; `auto` (the default) tries {@link backendOrder} in order. */
  backend?: BackendRequest;
  /** How optional backend modules are imported. Tests inject a loader that fails on purpose. */
  loadModule?: ModuleLoader;
}

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
  /** Switches TensorFlow.js's global engine (back) to this runtime's backend. */
  activate(): Promise<void>;
  /** Throws {@link BackendNotActiveError} when the global engine is on another backend. */
  assertActive(): void;
}

interface BackendSpec {
  modules: string[];
  tfjsName: string;
  installHint: string;
  device: (tf: TensorFlow) => Promise<string>;
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
    device: async (tf) => {
      const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
      return `WebAssembly (${simd ? 'SIMD' : 'no SIMD'}, 1 thread)`;
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

async function tryBackend(name: BackendName, loadModule: ModuleLoader): Promise<Runtime> {
  return withoutAddedProcessHandlers(() => loadBackend(name, loadModule));
}

async function loadBackend(name: BackendName, loadModule: ModuleLoader): Promise<Runtime> {
  const spec = backendSpecs[name];
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
  let ok = false;
  try {
    ok = await tf.setBackend(spec.tfjsName);
    await tf.ready();
  } catch (error) {
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
  const device = await spec.device(tf);
  return makeRuntime(tf, name, device, []);
}

function makeRuntime(tf: TensorFlow, backend: BackendName, device: string, skipped: BackendAttempt[]): Runtime {
  const tfjsName = backendSpecs[backend].tfjsName;
  return {
    tf,
    backend,
    device,
    skipped,
    async activate() {
      if (tf.getBackend() !== tfjsName) {
        await withoutAddedProcessHandlers(async () => {
          await tf.setBackend(tfjsName);
          await tf.ready();
        });
      }
    },
    assertActive() {
      const active = tf.getBackend();
      if (active !== tfjsName) throw new BackendNotActiveError({ backend, activeBackend: String(active) });
    },
  };
}

/**
 * Creates a {@link Runtime}. With `backend: 'auto'` it tries `tensorflow-gpu`, `tensorflow`,
 * `wasm` and `cpu` in that order and records in `skipped` why each earlier one was unavailable.
 * An explicitly requested backend that is unavailable throws {@link BackendUnavailableError}
 * with an install hint.
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
  if (request !== 'auto') return tryBackend(request, loadModule);
  const skipped: BackendAttempt[] = [];
  for (const name of backendOrder) {
    try {
      const runtime = await tryBackend(name, loadModule);
      return makeRuntime(runtime.tf, runtime.backend, runtime.device, skipped);
    } catch (error) {
      skipped.push({ backend: name, reason: describe(error) });
    }
  }
  throw new BackendUnavailableError({
    backend: 'auto',
    installHint: 'Install @tensorflow/tfjs-backend-wasm or @tensorflow/tfjs-backend-cpu.',
    reason: skipped.map((attempt) => `${attempt.backend}: ${attempt.reason}`).join('; '),
  });
}
