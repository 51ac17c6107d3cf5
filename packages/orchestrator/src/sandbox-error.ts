import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.sandbox';
const markerSymbol = Symbol.for(marker);

/** The sandbox itself could not be prepared or started (not a failure of the code it ran). Code: `SANDBOX_FAILED`. */
export class SandboxError extends CodestackError {
  private readonly [markerSymbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ code: 'SANDBOX_FAILED', message, cause });
    this.name = 'SandboxError';
  }

  /** Whether `error` is a {@link SandboxError}, from any copy of this package. */
  static override isInstance(error: unknown): error is SandboxError {
    return CodestackError.hasMarker(error, marker);
  }
}
