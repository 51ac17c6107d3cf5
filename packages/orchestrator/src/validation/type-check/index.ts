/** The confined, time-limited type check that runs in a worker thread. */
export {
  typeCheck,
  formatDiagnostics,
  defaultTypeCheckTimeoutMilliseconds,
  TypeCheckTimeoutError,
  TypeCheckWorkerError,
  type CodeDiagnostic,
  type TypeCheckOptions,
  type TypeCheckResult,
} from './type-check.js';
