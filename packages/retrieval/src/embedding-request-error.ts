import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.embedding-request';
const markerSymbol = Symbol.for(marker);

/** A remote embeddings endpoint failed after all retries or returned a malformed answer. Code: `EMBEDDING_REQUEST_FAILED`. */
export class EmbeddingRequestError extends CodestackError {
  private readonly [markerSymbol] = true;

  /** The URL that was called. */
  readonly url: string;
  /** The HTTP status of the last attempt, when one was received. */
  readonly status: number | undefined;

  constructor({ url, status, message, cause }: { url: string; status?: number; message: string; cause?: unknown }) {
    super({ code: 'EMBEDDING_REQUEST_FAILED', message, cause });
    this.name = 'EmbeddingRequestError';
    this.url = url;
    this.status = status;
  }

  /** Whether `error` is a {@link EmbeddingRequestError}, from any copy of this package. */
  static override isInstance(error: unknown): error is EmbeddingRequestError {
    return CodestackError.hasMarker(error, marker);
  }
}
