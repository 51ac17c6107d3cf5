import { CodestackError } from './codestack-error.js';

const marker = 'codestack.error.aborted';
const markerSymbol = Symbol.for(marker);

/** An operation was cancelled through its `AbortSignal`. Code: `ABORTED`. */
export class AbortedError extends CodestackError {
  private readonly [markerSymbol] = true;

  constructor({ operation, cause }: { operation: string; cause?: unknown }) {
    super({ code: 'ABORTED', message: `${operation} was aborted`, cause });
    this.name = 'AbortedError';
  }

  /** Whether `error` is an {@link AbortedError}, from any copy of this package. */
  static override isInstance(error: unknown): error is AbortedError {
    return CodestackError.hasMarker(error, marker);
  }
}

/** Throws an {@link AbortedError} naming `operation` when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, operation: string): void {
  if (signal?.aborted) throw new AbortedError({ operation, cause: signal.reason });
}
