import { InvalidArgumentError } from '@codestack/core';
import type { LlamaModel } from '@codestack/runtime';
import { runTrainingLoop, type TrainingOptions, type TrainingResult } from './training-loop.js';

/** Options of {@link fineTuneModel}: the model and the same training options adapters take. */
export interface FineTuneModelOptions extends TrainingOptions {
  /** The model whose every weight is trained (in place). */
  model: LlamaModel;
}

/**
 * Full fine-tuning: trains every weight of `model` in place with the same loop, loss, schedule
 * and data handling as `trainAdapter`. It is the baseline an adapter is measured against (same
 * data, same steps); the model must not carry an adapter hook while it trains.
 */
export async function fineTuneModel(options: FineTuneModelOptions): Promise<TrainingResult> {
  const { model } = options;
  if (typeof model !== 'object' || model === null) throw new InvalidArgumentError({ argument: 'model', message: 'expected a LlamaModel' });
  if (model.linearHook !== undefined) {
    throw new InvalidArgumentError({ argument: 'model', message: 'the model has an adapter hook installed; fine-tune the bare model' });
  }
  return runTrainingLoop(model, model.trainableVariables(), options, 'fine-tune');
}
