import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.adapter-state';
const markerSymbol = Symbol.for(marker);

/**
 * An adapter operation does not fit the adapter's current state: using a disposed adapter,
 * merging an adapter twice, unmerging one that is not merged, or training a merged one.
 * Code: `ADAPTER_STATE`.
 */
export class AdapterStateError extends CodestackError {
  private readonly [markerSymbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ code: 'ADAPTER_STATE', message, cause });
    this.name = 'AdapterStateError';
  }

  /** Whether `error` is an {@link AdapterStateError}, from any copy of this package. */
  static override isInstance(error: unknown): error is AdapterStateError {
    return CodestackError.hasMarker(error, marker);
  }
}
