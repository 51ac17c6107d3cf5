import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.training-failed';
const markerSymbol = Symbol.for(marker);

/**
 * A training step failed with an error that is not a `CodestackError` (typically inside
 * TensorFlow.js or a custom loss); the original error is the `cause`. Code: `TRAINING_FAILED`.
 * Typed errors (`AbortedError`, `InvalidArgumentError`, `FileFormatError`, …) pass through unwrapped.
 */
export class TrainingFailedError extends CodestackError {
  private readonly [markerSymbol] = true;

  /** The optimizer step that failed (0-based). */
  readonly step: number;

  /** Creates the error for the 0-based `step`. */
  constructor({ step, message, cause }: { step: number; message: string; cause?: unknown }) {
    super({ code: 'TRAINING_FAILED', message: `step ${step}: ${message}`, cause });
    this.name = 'TrainingFailedError';
    this.step = step;
  }

  /** Whether `error` is a {@link TrainingFailedError}, from any copy of this package (or of the tuning package, which re-exports it). */
  static override isInstance(error: unknown): error is TrainingFailedError {
    return CodestackError.hasMarker(error, marker);
  }
}
