import { CodestackError } from './codestack-error.js';

const marker = 'codestack.error.invalid-argument';
const markerSymbol = Symbol.for(marker);

/** A caller passed a value of the wrong type or out of range. Code: `INVALID_ARGUMENT`. */
export class InvalidArgumentError extends CodestackError {
  private readonly [markerSymbol] = true;

  /** The name of the offending argument or option. */
  readonly argument: string;

  constructor({ argument, message, cause }: { argument: string; message: string; cause?: unknown }) {
    super({ code: 'INVALID_ARGUMENT', message: `Invalid argument '${argument}': ${message}`, cause });
    this.name = 'InvalidArgumentError';
    this.argument = argument;
  }

  /** Whether `error` is an {@link InvalidArgumentError}, from any copy of this package. */
  static override isInstance(error: unknown): error is InvalidArgumentError {
    return CodestackError.hasMarker(error, marker);
  }
}
