import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.incompatible-adapters';
const markerSymbol = Symbol.for(marker);

/**
 * Adapters cannot be used together: a weighted combination of LoRA adapters with different
 * ranks, targets or layers, or an adapter built for another model shape. Code: `INCOMPATIBLE_ADAPTERS`.
 */
export class IncompatibleAdaptersError extends CodestackError {
  private readonly [markerSymbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ code: 'INCOMPATIBLE_ADAPTERS', message, cause });
    this.name = 'IncompatibleAdaptersError';
  }

  /** Whether `error` is an {@link IncompatibleAdaptersError}, from any copy of this package. */
  static override isInstance(error: unknown): error is IncompatibleAdaptersError {
    return CodestackError.hasMarker(error, marker);
  }
}
