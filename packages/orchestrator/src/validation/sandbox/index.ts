/** The sandbox that runs untrusted code: OS isolation where available, the in-process guard, and their errors. */
export {
  runInSandbox,
  probeSandboxIsolation,
  type SandboxOptions,
  type SandboxResult,
  type SandboxStatus,
  type SandboxIsolation,
  type SandboxIsolationLevel,
  type SandboxIsolationSupport,
} from './sandbox.js';
export { sandboxGuardSource } from './sandbox-guard.js';
export { SandboxError, SandboxIsolationUnavailableError } from './sandbox-error.js';
