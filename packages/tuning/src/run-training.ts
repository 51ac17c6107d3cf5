import type * as tfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError, throwIfAborted } from '@codestack/core';
import { Trainer, type BatchSource, type LlamaModel } from '@codestack/runtime';
import { maskedMeanLoss } from './masked-loss.js';
import { TokenDataSource } from './token-data-source.js';
import type { TokenData } from './training-data.js';

/** Options of the training shared by adapter training and full fine-tuning (both run the runtime's `Trainer`). */
export interface TrainingOptions {
  /**
   * The training data: token sequences (a code corpus) or prompt→completion pairs held in memory
   * (rows drawn with `seed`), or any runtime `BatchSource`, such as a `PackedDataset` of token
   * shards.
   */
  data: TokenData | BatchSource;
  /** Optimizer steps to run (in total, counting resumed ones). */
  steps: number;
  /** Windows per micro-batch. Default 4. */
  batchSize?: number;
  /** Positions per window. Default `min(64, maximumContext)`. */
  sequenceLength?: number;
  /** Micro-batches whose gradients are averaged per optimizer step. Default 1. */
  accumulationSteps?: number;
  /** Peak learning rate. Default 1e-3. */
  learningRate?: number;
  /** Linear warmup steps before the cosine decay. Default 0. */
  warmupSteps?: number;
  /** The floor of the cosine decay. Default `learningRate / 10`. */
  minimumLearningRate?: number;
  /** AdamW's decoupled weight decay. Default 0. */
  weightDecay?: number;
  /** AdamW beta1. Default 0.9. */
  beta1?: number;
  /** AdamW beta2. Default 0.999. */
  beta2?: number;
  /** AdamW epsilon. Default 1e-8. */
  epsilon?: number;
  /** Clip the global gradient norm to this value; 0 disables clipping. Default 1. (Was `clipNorm`.) */
  maximumGradientNorm?: number;
  /** Seed of the row sampling of in-memory data. Default 0. */
  seed?: number;
  /** Write a resumable trainer checkpoint here every `checkpointEvery` steps and at the end. */
  checkpointDirectory?: string;
  /** Steps between checkpoints. Default 50. */
  checkpointEvery?: number;
  /** Resume from the checkpoint in `checkpointDirectory` when there is one. Default true. */
  resume?: boolean;
  /** Cancels training between micro-batches (core's `AbortedError`). */
  signal?: AbortSignal;
  /** Progress as JSON lines even on a TTY. */
  json?: boolean;
  /** Print no progress. */
  silent?: boolean;
  /** Where progress goes. Default `process.stderr`. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** What a training run did and measured. */
export interface TrainingResult {
  /** The optimizer step reached (equals `steps` unless aborted). */
  steps: number;
  /** The step training started from (non-zero after a resume). */
  startStep: number;
  /** Mean masked loss of each optimizer step run in this call, in nats per token. */
  losses: number[];
  /** The last step's loss. */
  finalLoss: number;
  /** Learned (masked-in) tokens processed in this call. */
  tokens: number;
  /** Wall-clock seconds of this call. */
  seconds: number;
  /** Learned tokens per second. */
  tokensPerSecond: number;
  /** Peak tensor memory (`tf.profile`'s `peakBytes`) of the first step, which holds activations, gradients and optimizer state. */
  peakTensorBytes: number;
  /** Highest process resident set size seen after a step, in bytes. */
  peakResidentBytes: number;
  /** Number of trained parameters. */
  trainableParameters: number;
}

function isBatchSource(data: TrainingOptions['data']): data is BatchSource {
  const candidate = data as Partial<BatchSource>;
  return typeof candidate.next === 'function' && typeof candidate.position === 'function' && typeof candidate.restore === 'function';
}

/**
 * Maps tuning's training options onto the runtime's `Trainer` and runs it: `variables` of
 * `model` (or, when undefined, every model weight) are trained with the masked mean loss, AdamW,
 * warmup+cosine schedule, global-norm clipping and accumulation; checkpoints are the trainer's.
 * `label` names the progress.
 */
export async function runTraining(model: LlamaModel, variables: ReadonlyMap<string, tfCore.Variable> | undefined, options: TrainingOptions, label: string): Promise<TrainingResult> {
  model.runtime.assertActive();
  const { steps } = options;
  if (!Number.isInteger(steps) || steps < 1) throw new InvalidArgumentError({ argument: 'steps', message: `expected a positive integer, got ${JSON.stringify(steps)}` });
  const sequenceLength = options.sequenceLength ?? Math.min(64, model.config.maximumContext);
  if (Number.isInteger(sequenceLength) && sequenceLength > model.config.maximumContext) {
    throw new InvalidArgumentError({ argument: 'sequenceLength', message: `${sequenceLength} exceeds maximumContext ${model.config.maximumContext}` });
  }
  if (variables !== undefined && variables.size === 0) throw new InvalidArgumentError({ argument: 'variables', message: 'nothing to train' });
  const data = isBatchSource(options.data)
    ? options.data
    : new TokenDataSource(options.data, { sequenceLength, vocabularySize: model.config.vocabularySize, seed: options.seed ?? 0 });
  throwIfAborted(options.signal, label);
  const learningRate = options.learningRate ?? 1e-3;
  const trainer = new Trainer({
    model,
    data,
    batchSize: options.batchSize ?? 4,
    sequenceLength,
    accumulationSteps: options.accumulationSteps ?? 1,
    schedule: { peakLearningRate: learningRate, warmupSteps: options.warmupSteps ?? 0, totalSteps: steps, minimumLearningRate: options.minimumLearningRate ?? learningRate / 10 },
    optimizer: { beta1: options.beta1 ?? 0.9, beta2: options.beta2 ?? 0.999, epsilon: options.epsilon ?? 1e-8, weightDecay: options.weightDecay ?? 0 },
    maximumGradientNorm: options.maximumGradientNorm ?? 1,
    variables,
    lossFunction: maskedMeanLoss(model),
  });
  try {
    const summary = await trainer.train({
      untilStep: steps,
      label,
      resume: options.resume !== false,
      checkpointEvery: options.checkpointEvery ?? 50,
      checkpointDirectory: options.checkpointDirectory,
      signal: options.signal,
      json: options.json,
      silent: options.silent,
      stream: options.stream,
    });
    let trainableParameters = 0;
    for (const variable of trainer.variables.values()) trainableParameters += variable.size;
    return {
      steps: summary.step,
      startStep: summary.startStep,
      losses: summary.losses,
      finalLoss: summary.loss,
      tokens: summary.tokens,
      seconds: summary.seconds,
      tokensPerSecond: summary.tokensPerSecond,
      peakTensorBytes: summary.peakTensorBytes,
      peakResidentBytes: summary.peakResidentBytes,
      trainableParameters,
    };
  } finally {
    trainer.dispose();
  }
}
