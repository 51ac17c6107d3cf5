import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.embedder-mismatch';
const markerSymbol = Symbol.for(marker);

/** A query or vector came from a different embedder (id or dimension) than the index was built with. Code: `EMBEDDER_MISMATCH`. */
export class EmbedderMismatchError extends CodestackError {
  private readonly [markerSymbol] = true;

  /** The embedder id and dimension the index was built with, as `id/dimension`. */
  readonly expected: string;

  constructor({ expected, message, cause }: { expected: string; message: string; cause?: unknown }) {
    super({ code: 'EMBEDDER_MISMATCH', message, cause });
    this.name = 'EmbedderMismatchError';
    this.expected = expected;
  }

  /** Whether `error` is a {@link EmbedderMismatchError}, from any copy of this package. */
  static override isInstance(error: unknown): error is EmbedderMismatchError {
    return CodestackError.hasMarker(error, marker);
  }
}
