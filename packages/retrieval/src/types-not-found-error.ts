import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.types-not-found';
const markerSymbol = Symbol.for(marker);

/** A package was found but ships no TypeScript declarations and has no `@types` package. Code: `TYPES_NOT_FOUND`. */
export class TypesNotFoundError extends CodestackError {
  private readonly [markerSymbol] = true;

  /** The package whose declarations are missing. */
  readonly packageName: string;

  constructor({ packageName, message, cause }: { packageName: string; message: string; cause?: unknown }) {
    super({ code: 'TYPES_NOT_FOUND', message, cause });
    this.name = 'TypesNotFoundError';
    this.packageName = packageName;
  }

  /** Whether `error` is a {@link TypesNotFoundError}, from any copy of this package. */
  static override isInstance(error: unknown): error is TypesNotFoundError {
    return CodestackError.hasMarker(error, marker);
  }
}
