import { InvalidArgumentError } from '@codestack/core';
import { PackedDataset, type LlamaModel } from '@codestack/runtime';
import type { Adapter } from './adapter.js';
import { AdapterStateError } from './adapter-state-error.js';
import { runShardTraining } from './shard-training.js';
import { runTrainingLoop, type TrainingOptions, type TrainingResult } from './training-loop.js';

/** Options of {@link trainAdapter}. */
export interface TrainAdapterOptions extends Omit<TrainingOptions, 'data'> {
  /**
   * Token sequences (a code corpus) or prompt→completion pairs held in memory, or the runtime's
   * `PackedDataset` of token shards (then the runtime's `Trainer` runs the steps and its
   * checkpoints, including the data position, make the resume exact; `seed` does not apply).
   */
  data: TrainingOptions['data'] | PackedDataset;
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
 * Trains `adapter` on a frozen `model`: only the adapter's variables receive gradients and
 * updates, so the base weights stay bit-identical. The adapter's hook is installed on the model
 * for the duration (the previous hook is restored afterwards) and LoRA dropout is active.
 *
 * Uses masked next-token loss over token sequences or prompt→completion pairs, AdamW with
 * warmup+cosine schedule, global-norm clipping and gradient accumulation; reports progress
 * (`json`, `silent`), checkpoints and resumes a training state (`checkpointDirectory`), and
 * stops on `signal` with core's `AbortedError`.
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
    const { data } = options;
    const result =
      data instanceof PackedDataset
        ? await runShardTraining(model, adapter.trainableVariables(), { ...options, data }, 'train-adapter')
        : await runTrainingLoop(model, adapter.trainableVariables(), { ...options, data }, 'train-adapter');
    let baseParameters = 0;
    for (const weight of model.weights.values()) baseParameters += weight.size;
    return { ...result, baseParameters, trainableShare: result.trainableParameters / (baseParameters + result.trainableParameters) };
  } finally {
    adapter.training = false;
    model.linearHook = previousHook;
  }
}
