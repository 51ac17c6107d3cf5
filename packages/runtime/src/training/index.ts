// Training: the trainer, AdamW, the learning-rate schedule, gradient computation and clipping, data-parallel workers.
export { GradientWorker, workerFileUrl } from './gradient-worker.js';
export { AdamW, type AdamWOptions, type AdamWState } from './adamw.js';
export { warmupCosineSchedule, type LearningRateSchedule, type WarmupCosineOptions } from './learning-rate-schedule.js';
export { clipByGlobalNorm, globalNorm } from './gradient-clipping.js';
export { computeGradients, accumulateGradients, scaleGradients } from './compute-gradients.js';
export {
  Trainer,
  trainerCheckpointFiles,
  type TrainerOptions,
  type TrainOptions,
  type TrainSummary,
  type LossFunction,
} from './trainer.js';
export type { TrainingObserver, StepResult, EvaluationResult, CheckpointEvent } from './training-observer.js';
export { TrainingFailedError } from './training-failed-error.js';
