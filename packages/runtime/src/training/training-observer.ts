/** The result of one optimizer step. */
export interface StepResult {
  /** The step number after this step (1-based). */
  step: number;
  /** Mean training loss over the micro-batches. */
  loss: number;
  /** The learning rate used. */
  learningRate: number;
  /** The global gradient norm before clipping (`NaN` when clipping is off). */
  gradientNorm: number;
  /** Tokens learned: every target of the micro-batches, or the masked-in ones of masked batches. */
  tokens: number;
}

/** A periodic evaluation of the trainer's `evaluation` option. */
export interface EvaluationResult {
  /** The step after which it ran. */
  step: number;
  /** Mean loss over the evaluation batches. */
  loss: number;
}

/** A checkpoint written during training. */
export interface CheckpointEvent {
  /** The step the checkpoint holds. */
  step: number;
  /** Its directory. */
  directory: string;
}

/**
 * Callbacks of a training run, called in order after each step, evaluation and checkpoint (and
 * once after a resume); awaited, so an observer may do asynchronous work. Progress lines are
 * printed by the trainer itself (`json`, `silent`, `stream`); an observer is for everything else
 * (recording, early stopping through an `AbortController`, metrics).
 */
export interface TrainingObserver {
  /** After each optimizer step. */
  onStep?(result: StepResult): void | Promise<void>;
  /** After each periodic evaluation. */
  onEvaluation?(evaluation: EvaluationResult): void | Promise<void>;
  /** After each checkpoint. */
  onCheckpoint?(checkpoint: CheckpointEvent): void | Promise<void>;
  /** After a checkpoint was loaded by `train({ resume: true })`, with the step it holds. */
  onResume?(checkpoint: CheckpointEvent): void | Promise<void>;
}
