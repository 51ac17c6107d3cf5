// Creating a runtime: choosing and loading a TensorFlow.js backend, and the errors when none is available or another took over the engine.
export { createRuntime, backendOrder, type Runtime, type RuntimeOptions, type BackendName, type BackendRequest, type BackendAttempt, type ModuleLoader } from './runtime.js';
export { BackendUnavailableError } from './backend-unavailable-error.js';
export { BackendNotActiveError } from './backend-not-active-error.js';
export { type TensorFlow } from './tensorflow.js';
