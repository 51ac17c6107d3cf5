import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.type-check-worker';
const markerSymbol = Symbol.for(marker);

/**
 * The type-check worker could not run a check: its built file is missing, it failed to start,
 * it ran out of memory, or the compiler threw. Code: `TYPE_CHECK_WORKER_FAILED`.
 */
export class TypeCheckWorkerError extends CodestackError {
  private readonly [markerSymbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ code: 'TYPE_CHECK_WORKER_FAILED', message, cause });
    this.name = 'TypeCheckWorkerError';
  }

  /** Whether `error` is a {@link TypeCheckWorkerError}, from any copy of this package. */
  static override isInstance(error: unknown): error is TypeCheckWorkerError {
    return CodestackError.hasMarker(error, marker);
  }
}
