import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.backend-unavailable';
const markerSymbol = Symbol.for(marker);

/**
 * A requested tensor backend could not be loaded or initialised. Code: `BACKEND_UNAVAILABLE`.
 * The message carries an install hint, also available as {@link BackendUnavailableError.installHint}.
 */
export class BackendUnavailableError extends CodestackError {
  private readonly [markerSymbol] = true;

  /** The backend that was requested. */
  readonly backend: string;
  /** What to install or change to make the backend available. */
  readonly installHint: string;

  constructor({ backend, installHint, reason, cause }: { backend: string; installHint: string; reason: string; cause?: unknown }) {
    super({
      code: 'BACKEND_UNAVAILABLE',
      message: `The '${backend}' backend is unavailable: ${reason}. ${installHint}`,
      cause,
    });
    this.name = 'BackendUnavailableError';
    this.backend = backend;
    this.installHint = installHint;
  }

  /** Whether `error` is a {@link BackendUnavailableError}, from any copy of this package. */
  static override isInstance(error: unknown): error is BackendUnavailableError {
    return CodestackError.hasMarker(error, marker);
  }
}
