import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError, throwIfAborted } from '@codestack/core';
import { Trainer, trainerCheckpointFiles, type LlamaModel, type PackedDataset, type StepResult } from '@codestack/runtime';
import type { TrainingOptions, TrainingResult } from './training-loop.js';
import { TrainingRecorder } from './training-recorder.js';

/** {@link TrainingOptions} with token shards (the runtime's `PackedDataset`) as data. */
export type ShardTrainingOptions = Omit<TrainingOptions, 'data' | 'seed'> & {
  /** Packed token shards; rows are cut from the shard stream by the runtime. */
  data: PackedDataset;
};

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Trains `variables` on token shards with the runtime's `Trainer` (its AdamW, schedule,
 * clipping, accumulation, checkpoints and exact resume, including the data position); this
 * function adds progress reporting and the measurements of {@link TrainingResult}.
 */
export async function runShardTraining(model: LlamaModel, variables: ReadonlyMap<string, tfCore.Variable>, options: ShardTrainingOptions, label: string): Promise<TrainingResult> {
  const tf = model.runtime.tf;
  const steps = options.steps;
  if (!Number.isInteger(steps) || steps < 1) throw new InvalidArgumentError({ argument: 'steps', message: `expected a positive integer, got ${JSON.stringify(steps)}` });
  const learningRate = options.learningRate ?? 1e-3;
  const trainer = new Trainer({
    model,
    data: options.data,
    batchSize: options.batchSize ?? 4,
    sequenceLength: options.sequenceLength ?? Math.min(64, model.config.maximumContext),
    accumulationSteps: options.accumulationSteps ?? 1,
    schedule: {
      peakLearningRate: learningRate,
      warmupSteps: options.warmupSteps ?? 0,
      totalSteps: steps,
      minimumLearningRate: options.minimumLearningRate ?? learningRate / 10,
    },
    optimizer: { beta1: options.beta1 ?? 0.9, beta2: options.beta2 ?? 0.999, epsilon: options.epsilon ?? 1e-8, weightDecay: options.weightDecay ?? 0 },
    maximumGradientNorm: options.clipNorm ?? 1,
    variables,
  });
  try {
    const directory = options.checkpointDirectory;
    if (directory !== undefined && options.resume !== false && (await exists(join(directory, trainerCheckpointFiles.state)))) {
      await trainer.loadCheckpoint(directory);
    }
    const checkpointEvery = options.checkpointEvery ?? 50;
    const recorder = new TrainingRecorder(options, label, steps, trainer.step, [...variables.values()].reduce((total, variable) => total + variable.size, 0));
    while (trainer.step < steps) {
      throwIfAborted(options.signal, label);
      let result: StepResult;
      if (trainer.step === recorder.startStep) {
        let captured: StepResult | undefined;
        const profile = await tf.profile(async () => {
          captured = await trainer.trainStep(options.signal);
          return [];
        });
        recorder.notePeakTensorBytes(Math.max(profile.peakBytes, tf.memory().numBytes));
        result = captured as StepResult;
      } else {
        result = await trainer.trainStep(options.signal);
      }
      recorder.step(result.step, result.loss, result.learningRate, result.tokens);
      await new Promise((resolve) => setImmediate(resolve));
      if (directory !== undefined && (result.step % checkpointEvery === 0 || result.step === steps)) {
        await trainer.saveCheckpoint(directory);
        recorder.checkpoint(result.step, directory);
      }
    }
    return recorder.finish(trainer.step);
  } finally {
    trainer.dispose();
  }
}
