import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.corpus-encoder';
const markerSymbol = Symbol.for(marker);

/** A corpus encoder worker could not start or failed on a job. Code: `CORPUS_ENCODER_FAILED`. */
export class CorpusEncoderError extends CodestackError {
  private readonly [markerSymbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ code: 'CORPUS_ENCODER_FAILED', message, cause });
    this.name = 'CorpusEncoderError';
  }

  /** Whether `error` is a {@link CorpusEncoderError}, from any copy of this package. */
  static override isInstance(error: unknown): error is CorpusEncoderError {
    return CodestackError.hasMarker(error, marker);
  }
}
