import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.training-failed';
const markerSymbol = Symbol.for(marker);

/** A training step failed inside TensorFlow.js (the original error is the `cause`). Code: `TRAINING_FAILED`. */
export class TrainingFailedError extends CodestackError {
  private readonly [markerSymbol] = true;

  /** The optimizer step that failed (0-based). */
  readonly step: number;

  constructor({ step, message, cause }: { step: number; message: string; cause?: unknown }) {
    super({ code: 'TRAINING_FAILED', message: `step ${step}: ${message}`, cause });
    this.name = 'TrainingFailedError';
    this.step = step;
  }

  /** Whether `error` is a {@link TrainingFailedError}, from any copy of this package. */
  static override isInstance(error: unknown): error is TrainingFailedError {
    return CodestackError.hasMarker(error, marker);
  }
}
