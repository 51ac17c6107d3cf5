import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.docs-store';
const markerSymbol = Symbol.for(marker);

/** Why a {@link DocsStoreError} was raised. */
export type DocsStoreErrorReason = 'missing-dependency' | 'database' | 'corrupt';

/**
 * A docs store (such as `PostgresDocsStore`) failed: its optional driver is not installed, the
 * database refused a statement, or a stored row is not what this version wrote. Code: `DOCS_STORE`.
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
