import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.type-check-timeout';
const markerSymbol = Symbol.for(marker);

/**
 * A type check did not finish within its time limit; its worker was stopped. Code:
 * `TYPE_CHECK_TIMEOUT`.
 */
export class TypeCheckTimeoutError extends CodestackError {
  private readonly [markerSymbol] = true;

  /** The limit that was exceeded. */
  readonly timeoutMilliseconds: number;

  constructor({ timeoutMilliseconds }: { timeoutMilliseconds: number }) {
    super({
      code: 'TYPE_CHECK_TIMEOUT',
      message: `The type check did not finish within ${timeoutMilliseconds} ms and was stopped; the code's types are too expensive to check (for example a deeply recursive type).`,
    });
    this.name = 'TypeCheckTimeoutError';
    this.timeoutMilliseconds = timeoutMilliseconds;
  }

  /** Whether `error` is a {@link TypeCheckTimeoutError}, from any copy of this package. */
  static override isInstance(error: unknown): error is TypeCheckTimeoutError {
    return CodestackError.hasMarker(error, marker);
  }
}
