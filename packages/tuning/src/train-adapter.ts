import { InvalidArgumentError } from '@codestack/core';
import type { LlamaModel } from '@codestack/runtime';
import type { Adapter } from './adapter.js';
import { AdapterStateError } from './adapter-state-error.js';
import { runTraining, type TrainingOptions, type TrainingResult } from './run-training.js';

/** Options of {@link trainAdapter}. */
export interface TrainAdapterOptions extends TrainingOptions {
  /** The frozen base model. */
  model: LlamaModel;
  /** The adapter to train (its variables are the only ones updated). */
  adapter: Adapter;
}

/** What {@link trainAdapter} did and measured. */
export interface TrainAdapterResult extends TrainingResult {
  /** Parameters of the base model (frozen). */
  baseParameters: number;
  /** `trainableParameters / (baseParameters + trainableParameters)`. */
  trainableShare: number;
}

/**
 * Trains `adapter` on a frozen `model` with the runtime's `Trainer`: only the adapter's
 * variables receive gradients and updates, so the base weights stay bit-identical. The adapter's
 * hook is installed on the model for the duration (the previous hook is restored afterwards) and
 * LoRA dropout is active.
 *
 * Data is token sequences or prompt→completion pairs in memory (masked next-token loss) or any
 * runtime `BatchSource` such as a `PackedDataset` of token shards. AdamW with warmup+cosine
 * schedule, global-norm clipping (`maximumGradientNorm`) and gradient accumulation; reports
 * progress (`json`, `silent`), checkpoints and resumes exactly (`checkpointDirectory`, the
 * trainer's checkpoint format), and stops on `signal` with core's `AbortedError`.
 */
export async function trainAdapter(options: TrainAdapterOptions): Promise<TrainAdapterResult> {
  const { model, adapter } = options;
  if (typeof model !== 'object' || model === null) throw new InvalidArgumentError({ argument: 'model', message: 'expected a LlamaModel' });
  adapter.assertUsable();
  if (adapter.mergedInto !== undefined) throw new AdapterStateError({ message: `adapter ${adapter.name} is merged; unmerge it before training` });
  if (!adapter.fits(model)) throw new InvalidArgumentError({ argument: 'adapter', message: `adapter ${adapter.name} does not fit this model` });
  const previousHook = model.linearHook;
  model.linearHook = adapter.hook;
  adapter.training = true;
  try {
    const result = await runTraining(model, adapter.trainableVariables(), options, 'train-adapter');
    let baseParameters = 0;
    for (const weight of model.weights.values()) baseParameters += weight.size;
    return { ...result, baseParameters, trainableShare: result.trainableParameters / (baseParameters + result.trainableParameters) };
  } finally {
    adapter.training = false;
    model.linearHook = previousHook;
  }
}
