export { runInSandbox, type SandboxOptions, type SandboxResult, type SandboxStatus } from './sandbox.js';
export { sandboxGuardSource } from './sandbox-guard.js';
export { SandboxError } from './sandbox-error.js';
export { ModelCallError } from './model-call-error.js';
export { NotAvailableError } from './not-available-error.js';
