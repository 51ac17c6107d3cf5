import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.model-call';
const markerSymbol = Symbol.for(marker);

/**
 * A call to a language model failed: the endpoint answered with an error status, timed out,
 * or sent a response that could not be understood. Code: `MODEL_CALL_FAILED`.
 */
export class ModelCallError extends CodestackError {
  private readonly [markerSymbol] = true;

  /** The HTTP status of the last answer, when there was one. */
  readonly status: number | undefined;
  /** Whether retrying the same call may succeed (429, 5xx, network errors, timeouts). */
  readonly retryable: boolean;

  constructor({
    message,
    status,
    retryable,
    cause,
  }: {
    message: string;
    status?: number;
    retryable: boolean;
    cause?: unknown;
  }) {
    super({ code: 'MODEL_CALL_FAILED', message, cause });
    this.name = 'ModelCallError';
    this.status = status;
    this.retryable = retryable;
  }

  /** Whether `error` is a {@link ModelCallError}, from any copy of this package. */
  static override isInstance(error: unknown): error is ModelCallError {
    return CodestackError.hasMarker(error, marker);
  }
}
