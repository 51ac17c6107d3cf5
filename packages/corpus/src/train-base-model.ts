import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AbortedError, writeFileAtomic } from '@codestack/core';
import {
  LlamaModel,
  PackedDataset,
  Trainer,
  loadModel,
  parameterCount,
  saveModel,
  type ModelConfig,
  type Runtime,
} from '@codestack/runtime';
import { trainingDataManifestFile, type TrainingDataManifest } from './prepare-training-data.js';

/** The default architecture of the bundled base model (about 1.3M parameters with K = 2048). */
export const defaultBaseModelShape = {
  hiddenSize: 128,
  layers: 4,
  attentionHeads: 4,
  keyValueHeads: 2,
  feedForwardSize: 384,
  maximumContext: 256,
  ropeTheta: 10_000,
  normEpsilon: 1e-5,
  tiedEmbeddings: true,
} as const satisfies Omit<ModelConfig, 'vocabularySize'>;

/** Options of {@link trainBaseModel}. */
export interface TrainBaseModelOptions {
  runtime: Runtime;
  /** A directory written by `prepareTrainingData`. */
  dataDirectory: string;
  /** The run directory: checkpoints live here, and an existing one is resumed exactly. */
  runDirectory: string;
  /** Total optimizer steps of the whole run (the cosine schedule spans them). */
  totalSteps: number;
  /** Stop this invocation after so many minutes (the run resumes later). */
  timeBudgetMinutes?: number;
  /** Stop this invocation after so many steps (the run resumes later). */
  maximumStepsNow?: number;
  /** Architecture; the vocabulary size comes from the prepared data. */
  shape?: Omit<ModelConfig, 'vocabularySize'>;
  batchSize?: number;
  sequenceLength?: number;
  peakLearningRate?: number;
  /** Steps between checkpoints and validation evaluations. Default 100. */
  checkpointEvery?: number;
  /** Data-parallel participants (main thread plus worker threads); `batchSize` must divide by it. Default 1. */
  workers?: number;
  /** Print JSON lines even on a TTY. */
  json?: boolean;
  signal?: AbortSignal;
}

/** What one invocation of {@link trainBaseModel} reached. */
export interface TrainBaseModelResult {
  step: number;
  totalSteps: number;
  finished: boolean;
  parameters: number;
  tokensSeen: number;
  validationLoss: number;
  validationBitsPerByte: number;
  tokensPerSecond: number;
  /** Wall-clock seconds of training over every invocation of the run (evaluations and checkpoints included). */
  trainingSeconds: number;
}

/**
 * Trains (or resumes) the base model on prepared shards with the runtime's `Trainer`; each row of
 * a batch starts at its own seeded random offset of the train shards (`rowSampling: 'random'`).
 * Checkpoints hold weights, optimizer moments, step and data position (with the row generator's
 * state), so stopping (time budget, Ctrl-C through `signal`) and starting again continues
 * exactly where it was. A run directory checkpointed before rows were sampled at random does
 * not resume (its data position does not fit).
 */
export async function trainBaseModel(options: TrainBaseModelOptions): Promise<TrainBaseModelResult> {
  const manifest = JSON.parse(await readFile(join(options.dataDirectory, trainingDataManifestFile), 'utf8')) as TrainingDataManifest;
  const config: ModelConfig = { ...(options.shape ?? defaultBaseModelShape), vocabularySize: manifest.vocabulary.vocabularySize };
  const batchSize = options.batchSize ?? 8;
  const sequenceLength = options.sequenceLength ?? config.maximumContext;
  const checkpointEvery = options.checkpointEvery ?? 100;
  const resuming = await Trainer.hasCheckpoint(options.runDirectory);
  const model = resuming
    ? await loadModel(options.runtime, options.runDirectory, { expectedConfig: config })
    : LlamaModel.create(options.runtime, config, { seed: 1 });
  // Each row of a batch from its own seeded offset: neighbouring rows of one shard are usually one file.
  const data = await PackedDataset.open(join(options.dataDirectory, 'train'), { seed: 1, vocabularySize: config.vocabularySize, rowSampling: 'random' });
  const validation = await PackedDataset.open(join(options.dataDirectory, 'validation'), { shuffleShards: false, vocabularySize: config.vocabularySize });
  const validationBatches = Math.max(1, Math.min(16, Math.floor(manifest.splits.validation.tokens / (batchSize * sequenceLength))));
  const trainer = new Trainer({
    model,
    data,
    batchSize,
    sequenceLength,
    workers: options.workers,
    schedule: {
      peakLearningRate: options.peakLearningRate ?? 3e-3,
      warmupSteps: Math.min(200, Math.ceil(options.totalSteps / 20)),
      totalSteps: options.totalSteps,
      minimumLearningRate: (options.peakLearningRate ?? 3e-3) / 10,
    },
    optimizer: { weightDecay: 0.1 },
    evaluation: { data: validation, every: checkpointEvery, batches: validationBatches },
  });
  const startedAt = performance.now();
  let earlierSeconds = 0;
  if (resuming && existsSync(join(options.runDirectory, 'run-summary.json'))) {
    const earlier = JSON.parse(await readFile(join(options.runDirectory, 'run-summary.json'), 'utf8')) as Partial<TrainBaseModelResult>;
    earlierSeconds = earlier.trainingSeconds ?? 0;
  }
  try {
    if (resuming) await trainer.loadCheckpoint(options.runDirectory);
    const deadline = Date.now() + (options.timeBudgetMinutes ?? Number.POSITIVE_INFINITY) * 60_000;
    const stopStep = Math.min(options.totalSteps, trainer.step + (options.maximumStepsNow ?? Number.POSITIVE_INFINITY));
    let tokensPerSecond = 0;
    while (trainer.step < stopStep && Date.now() < deadline) {
      const steps = Math.min(checkpointEvery - (trainer.step % checkpointEvery), stopStep - trainer.step);
      try {
        const summary = await trainer.train({ steps, signal: options.signal, json: options.json, checkpointDirectory: options.runDirectory });
        tokensPerSecond = summary.tokensPerSecond;
      } catch (error) {
        if (!AbortedError.isInstance(error)) throw error;
        await trainer.saveCheckpoint(options.runDirectory);
        break;
      }
    }
    const validationLoss = await trainer.evaluate();
    const validationTokensPerByte = manifest.splits.validation.tokens / manifest.splits.validation.bytes;
    const result: TrainBaseModelResult = {
      step: trainer.step,
      totalSteps: options.totalSteps,
      finished: trainer.step >= options.totalSteps,
      parameters: parameterCount(config),
      tokensSeen: trainer.step * batchSize * sequenceLength,
      validationLoss,
      validationBitsPerByte: (validationLoss * validationTokensPerByte) / Math.LN2,
      tokensPerSecond,
      trainingSeconds: earlierSeconds + (performance.now() - startedAt) / 1000,
    };
    await writeFileAtomic(join(options.runDirectory, 'run-summary.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

/**
 * Exports a run's weights as f16 (`config.json` + `model.safetensors`) together with the
 * compact vocabulary and the run summary, ready to commit into `@codestack/model-base`.
 */
export async function exportBaseModel(runtime: Runtime, runDirectory: string, dataDirectory: string, outputDirectory: string): Promise<void> {
  const model = await loadModel(runtime, runDirectory);
  try {
    await mkdir(outputDirectory, { recursive: true });
    await saveModel(model, outputDirectory, { dtype: 'F16' });
    await copyFile(join(dataDirectory, 'vocabulary.json'), join(outputDirectory, 'vocabulary.json'));
    await copyFile(join(runDirectory, 'run-summary.json'), join(outputDirectory, 'training-summary.json'));
  } finally {
    model.dispose();
  }
}
