import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.unknown-encoding';
const markerSymbol = Symbol.for(marker);

/** An encoding name is not one this package ships. Code: `UNKNOWN_ENCODING`. */
export class UnknownEncodingError extends CodestackError {
  private readonly [markerSymbol] = true;

  /** The encoding name that was asked for. */
  readonly encodingName: string;

  constructor({ encodingName, knownEncodings }: { encodingName: string; knownEncodings: readonly string[] }) {
    super({
      code: 'UNKNOWN_ENCODING',
      message: `Unknown encoding '${encodingName}'. Known encodings: ${knownEncodings.join(', ')}.`,
    });
    this.name = 'UnknownEncodingError';
    this.encodingName = encodingName;
  }

  /** Whether `error` is an {@link UnknownEncodingError}, from any copy of this package. */
  static override isInstance(error: unknown): error is UnknownEncodingError {
    return CodestackError.hasMarker(error, marker);
  }
}
