import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.docs-store';
const markerSymbol = Symbol.for(marker);

/**
 * Why a {@link DocsStoreError} was raised: `missing-dependency` (an optional driver package is not
 * installed), `database` (the database refused a statement), `corrupt` (a stored row is not what
 * this version wrote), `unsupported-format` (the store was written by a newer version), or
 * `outdated-format` (the store was written by an earlier version and could not be upgraded in place).
 */
export type DocsStoreErrorReason = 'missing-dependency' | 'database' | 'corrupt' | 'unsupported-format' | 'outdated-format';

/**
 * A docs store (such as `PostgresDocsStore`) failed: its optional driver is not installed, the
 * database refused a statement, a stored row is not what this version wrote, or the store's format
 * is one this version cannot read or upgrade (see {@link DocsStoreErrorReason}). Code: `DOCS_STORE`.
 */
export class DocsStoreError extends CodestackError {
  private readonly [markerSymbol] = true;

  /** Why it failed. */
  readonly reason: DocsStoreErrorReason;

  constructor({ reason, message, cause }: { reason: DocsStoreErrorReason; message: string; cause?: unknown }) {
    super({ code: 'DOCS_STORE', message, cause });
    this.name = 'DocsStoreError';
    this.reason = reason;
  }

  /** Whether `error` is a {@link DocsStoreError}, from any copy of this package. */
  static override isInstance(error: unknown): error is DocsStoreError {
    return CodestackError.hasMarker(error, marker);
  }
}
