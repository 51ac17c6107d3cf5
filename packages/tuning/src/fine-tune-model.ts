import { InvalidArgumentError } from '@codestack/core';
import type { LlamaModel } from '@codestack/runtime';
import { runTraining, type TrainingOptions, type TrainingResult } from './run-training.js';

/** Options of {@link fineTuneModel}: the model and the same training options adapters take. */
export interface FineTuneModelOptions extends TrainingOptions {
  /** The model whose every weight is trained (in place). */
  model: LlamaModel;
}

/**
 * Full fine-tuning: trains every weight of `model` in place with the runtime's `Trainer` and the
 * same loss, schedule, data handling and checkpoints as `trainAdapter` (a checkpoint directory
 * also loads with `loadModel`). It is the baseline an adapter is measured against (same data,
 * same steps); the model must not carry an adapter hook while it trains.
 */
export async function fineTuneModel(options: FineTuneModelOptions): Promise<TrainingResult> {
  const { model } = options;
  if (typeof model !== 'object' || model === null) throw new InvalidArgumentError({ argument: 'model', message: 'expected a LlamaModel' });
  if (model.linearHook !== undefined) {
    throw new InvalidArgumentError({ argument: 'model', message: 'the model has an adapter hook installed; fine-tune the bare model' });
  }
  return runTraining(model, undefined, options, 'fine-tune');
}
