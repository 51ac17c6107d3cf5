import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.not-available';
const markerSymbol = Symbol.for(marker);

/**
 * A feature needs a piece that is not available: a package that does not export it yet, or a
 * model that was not configured. Code: `NOT_AVAILABLE`.
 */
export class NotAvailableError extends CodestackError {
  private readonly [markerSymbol] = true;

  /** The missing piece, such as `@codestack/runtime model loading`. */
  readonly feature: string;

  constructor({ feature, message, cause }: { feature: string; message: string; cause?: unknown }) {
    super({ code: 'NOT_AVAILABLE', message: `${feature} is not available: ${message}`, cause });
    this.name = 'NotAvailableError';
    this.feature = feature;
  }

  /** Whether `error` is a {@link NotAvailableError}, from any copy of this package. */
  static override isInstance(error: unknown): error is NotAvailableError {
    return CodestackError.hasMarker(error, marker);
  }
}
