// Creating a runtime: choosing and loading a TensorFlow.js backend (and the wasm thread count), and the errors when none is available, threads cannot be had, or another took over the engine.
export { createRuntime, backendOrder, defaultThreads, type Runtime, type RuntimeOptions, type BackendName, type BackendRequest, type BackendAttempt, type ModuleLoader, type ThreadsRequest, type KernelChoice } from './runtime.js';
export { maximumWasmThreads } from './threaded-wasm.js';
export { ThreadsUnavailableError } from './threads-unavailable-error.js';
export { BackendUnavailableError } from './backend-unavailable-error.js';
export { BackendNotActiveError } from './backend-not-active-error.js';
export { type TensorFlow } from './tensorflow.js';
