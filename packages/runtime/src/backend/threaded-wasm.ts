import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { KernelBackend } from '@tensorflow/tfjs-core';
import { ThreadsUnavailableError } from './threads-unavailable-error.js';
import type { TensorFlow } from './tensorflow.js';
import type { ModuleLoader } from './runtime.js';

/**
 * The most threads a WebAssembly runtime can use: the threaded build starts a pool of 8 pthread
 * workers, and its XNNPACK thread pool is capped at 8.
 */
export const maximumWasmThreads = 8;

const packageName = '@tensorflow/tfjs-backend-wasm';
const glueSpecifier = `${packageName}/wasm-out/tfjs-backend-wasm-threaded-simd.js`;
const workerScriptSpecifier = `${packageName}/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js`;
/** Our pthread entry point: it runs tfjs's worker script (a string) as CommonJS; see the file. */
const workerEntryUrl = new URL('./wasm-thread-worker.cjs', import.meta.url);

/** The parts of the WebAssembly JS API used here (this package compiles without the DOM types). */
interface WebAssemblyApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => { buffer: ArrayBufferLike };
  instantiate(binary: Uint8Array, imports: object): Promise<{ instance: unknown; module: unknown }>;
}

const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** The parts of an Emscripten pthread worker (a Node `Worker`) this file touches. */
interface PthreadWorker {
  unref(): void;
  terminate(): unknown;
}

/** The parts of the Emscripten module of the threaded build this file touches. */
interface ThreadedModule {
  cwrap(name: string, returnType: string | null, argumentTypes: string[]): (...values: number[]) => number;
  PThread: { runningWorkers: PthreadWorker[]; unusedWorkers: PthreadWorker[]; terminateAllThreads(): void };
  tfjs?: Record<string, (...values: number[]) => number>;
}

interface EmscriptenImports {
  env: Record<string, unknown>;
  [module: string]: unknown;
}

interface FactoryConfig {
  mainScriptUrlOrBlob: string;
  locateFile(path: string, prefix: string): string;
  instantiateWasm(imports: EmscriptenImports, receive: (instance: unknown, module: unknown) => void): object;
  print(text: string): void;
  printErr(text: string): void;
  onAbort(reason: unknown): void;
}

type ModuleFactory = (config: FactoryConfig) => Promise<ThreadedModule>;

/** What tfjs-backend-wasm exports that the threaded runtime needs. */
interface WasmPackage {
  BackendWasm: new (module: never) => KernelBackend;
  setThreadsCount(threads: number): void;
  getThreadsCount(): number;
}

/** A threaded WebAssembly backend ready to register, with what it took to make it. */
export interface ThreadedWasmBackend {
  /** The tfjs `BackendWasm` over the threaded module. */
  backend: KernelBackend;
  /** The threads XNNPACK's pool reports (the calling thread included). */
  threads: number;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0] ?? error.name : String(error);
}

/** Why the threaded build cannot run in this process, or undefined when it can. */
function platformProblem(): string | undefined {
  if (typeof SharedArrayBuffer !== 'function') return 'SharedArrayBuffer is not available';
  try {
    const memory = new webAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    if (!(memory.buffer instanceof SharedArrayBuffer)) return 'WebAssembly memory cannot be shared';
  } catch (error) {
    return `WebAssembly memory cannot be shared (${describe(error)})`;
  }
  return undefined;
}

function wasmPackage(loaded: unknown): WasmPackage {
  const candidates = [loaded, (loaded as { default?: unknown } | null)?.default];
  for (const candidate of candidates) {
    if (typeof candidate === 'object' && candidate !== null && 'BackendWasm' in candidate && 'setThreadsCount' in candidate) return candidate as WasmPackage;
  }
  throw new Error(`${packageName} does not export BackendWasm and setThreadsCount`);
}

function moduleFactory(loaded: unknown): ModuleFactory {
  const candidate = typeof loaded === 'function' ? loaded : (loaded as { default?: unknown } | null)?.default;
  if (typeof candidate !== 'function') throw new Error(`${glueSpecifier} does not export an Emscripten module factory`);
  return candidate as ModuleFactory;
}

/** Terminates an Emscripten pthread pool that will not be used; never throws. */
function terminateWorkers(pthread: ThreadedModule['PThread'] | undefined): void {
  if (pthread === undefined) return;
  try {
    pthread.terminateAllThreads();
  } catch {
    for (const worker of [...(pthread.runningWorkers ?? []), ...(pthread.unusedWorkers ?? [])]) {
      try {
        void worker.terminate();
      } catch {
        // Already gone.
      }
    }
  }
}

/**
 * Runs `create` and then puts `globalThis.Worker` back as it was: under Node the Emscripten
 * glue assigns `global.Worker = require('worker_threads').Worker` and needs it only while it
 * creates its pthread pool, which happens inside `create`. A library must not leave globals behind.
 */
async function restoringGlobalWorker<T>(create: () => Promise<T>): Promise<T> {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  try {
    return await create();
  } finally {
    if (descriptor === undefined) delete (globalThis as { Worker?: unknown }).Worker;
    else Object.defineProperty(globalThis, 'Worker', descriptor);
  }
}

/**
 * Creates a tfjs `BackendWasm` over the threaded SIMD build of tfjs-backend-wasm, with `threads`
 * threads, under Node's worker_threads. tfjs itself refuses threads under Node (its
 * `WASM_HAS_MULTITHREAD_SUPPORT` flag is false there, tfjs issue 3830) because its loader points
 * the pthread workers at `blob:` URLs; this loader gives Emscripten real file paths instead.
 *
 * The build sizes its pool from the logical core count halved (for hyper-threading), so on a
 * 2-core machine it would allow one thread; the core count it asks for is answered with
 * `2 × threads` so that the requested count is what it gets. Every pthread worker is unref'd:
 * the main thread blocks while they compute, so they never need to keep a host process alive.
 *
 * Throws {@link ThreadsUnavailableError} when the platform or the build's files do not allow it.
 */
export async function createThreadedWasmBackend(tf: TensorFlow, threads: number, loadModule: ModuleLoader): Promise<ThreadedWasmBackend> {
  const unavailable = (reason: string, cause?: unknown): ThreadsUnavailableError => new ThreadsUnavailableError({ threads, reason, cause });
  const problem = platformProblem();
  if (problem !== undefined) throw unavailable(problem);
  if ((await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) !== true) throw unavailable('WebAssembly SIMD is not supported');
  const require = createRequire(import.meta.url);
  let gluePath: string;
  try {
    gluePath = require.resolve(glueSpecifier);
    require.resolve(workerScriptSpecifier);
  } catch (error) {
    throw unavailable(`cannot find the threaded build in ${packageName} (${describe(error)})`, error);
  }
  const wasmPath = gluePath.replace(/\.js$/, '.wasm');
  const workerEntryPath = fileURLToPath(workerEntryUrl);
  if (!existsSync(wasmPath)) throw unavailable(`cannot find ${wasmPath}`);
  if (!existsSync(workerEntryPath)) throw unavailable(`cannot find the pthread entry point ${workerEntryPath}`);
  let wasm: WasmPackage;
  let factory: ModuleFactory;
  try {
    wasm = wasmPackage(await loadModule(packageName));
    factory = moduleFactory(await loadModule(glueSpecifier));
  } catch (error) {
    throw unavailable(`cannot load the threaded build (${describe(error)})`, error);
  }
  const binary = await readFile(wasmPath);
  const messages: string[] = [];
  return restoringGlobalWorker(async () => {
    // Emscripten waits for `receive` forever when instantiation fails; this rejects instead.
    let failStart: (error: unknown) => void = () => undefined;
    const startFailed = new Promise<never>((_resolve, reject) => (failStart = reject));
    startFailed.catch(() => undefined);
    const config: FactoryConfig & { PThread?: ThreadedModule['PThread'] } = {
      mainScriptUrlOrBlob: gluePath,
      locateFile: (path, prefix) => (path.endsWith('.worker.js') ? workerEntryPath : path.endsWith('.wasm') ? wasmPath : prefix + path),
      instantiateWasm: (imports, receive) => {
        // The shared memory, where codestack's own kernels (kernels/wasm-kernels.ts) find it.
        (config as { wasmMemory?: unknown }).wasmMemory = imports.env.memory;
        const env = { ...imports.env, emscripten_num_logical_cores: () => 2 * threads };
        webAssembly.instantiate(binary, { ...imports, env }).then(
          ({ instance, module: compiled }) => receive(instance, compiled),
          (error: unknown) => {
            messages.push(`instantiation failed: ${describe(error)}`);
            failStart(error);
          },
        );
        return {};
      },
      print: (text) => messages.push(text),
      printErr: (text) => messages.push(text),
      onAbort: (reason) => {
        messages.push(`aborted: ${String(reason)}`);
        failStart(new Error(`aborted: ${String(reason)}`));
      },
    };
    let module: ThreadedModule;
    try {
      module = await Promise.race([factory(config), startFailed]);
    } catch (error) {
      // The glue attaches PThread to the config object (its Module) and starts the pool of 8
      // workers synchronously; they are not unref'd yet and would keep the host process alive.
      terminateWorkers(config.PThread);
      throw unavailable(`the threaded build failed to start (${[describe(error), ...messages].join('; ')})`, error);
    }
    const bind = (name: string, returnType: string | null, argumentTypes: string[]) => module.cwrap(name, returnType, argumentTypes);
    module.tfjs = {
      init: bind('init', null, []),
      initWithThreadsCount: bind('init_with_threads_count', null, ['number']),
      getThreadsCount: bind('get_threads_count', 'number', []),
      registerTensor: bind('register_tensor', null, ['number', 'number', 'number']),
      disposeData: bind('dispose_data', null, ['number']),
      dispose: bind('dispose', null, []),
    };
    // BackendWasm's constructor creates the thread pool with the count set here.
    wasm.setThreadsCount(threads);
    let backend: KernelBackend;
    try {
      backend = new wasm.BackendWasm(module as never);
    } catch (error) {
      terminateWorkers(module.PThread);
      throw unavailable(`the threaded build failed to start (${[describe(error), ...messages].join('; ')})`, error);
    } finally {
      wasm.setThreadsCount(-1);
    }
    for (const worker of [...module.PThread.runningWorkers, ...module.PThread.unusedWorkers]) worker.unref();
    const actual = wasm.getThreadsCount();
    if (actual !== threads) {
      backend.dispose();
      throw unavailable(`the build started ${actual} threads instead of ${threads}`);
    }
    return { backend, threads: actual };
  });
}
