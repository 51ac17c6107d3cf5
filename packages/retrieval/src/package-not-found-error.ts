import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.package-not-found';
const markerSymbol = Symbol.for(marker);

/** A package name or path could not be resolved to an installed package. Code: `PACKAGE_NOT_FOUND`. */
export class PackageNotFoundError extends CodestackError {
  private readonly [markerSymbol] = true;

  /** The package name or path that was asked for. */
  readonly packageName: string;

  constructor({ packageName, message, cause }: { packageName: string; message: string; cause?: unknown }) {
    super({ code: 'PACKAGE_NOT_FOUND', message, cause });
    this.name = 'PackageNotFoundError';
    this.packageName = packageName;
  }

  /** Whether `error` is a {@link PackageNotFoundError}, from any copy of this package. */
  static override isInstance(error: unknown): error is PackageNotFoundError {
    return CodestackError.hasMarker(error, marker);
  }
}
