import { join } from 'node:path';
import type * as tfCore from '@tensorflow/tfjs-core';
import {
  FileFormatError,
  InvalidArgumentError,
  createProgressReporter,
  openDirectoryFiles,
  sha256Hex,
  throwIfAborted,
  writeDirectoryAtomic,
} from '@codestack/core';
import type { LlamaModel } from '../model/llama-model.js';
import type { PackedDataset, DataPosition, TrainingBatch } from '../data/packed-dataset.js';
import { AdamW, type AdamWOptions, type AdamWState } from './adamw.js';
import { warmupCosineSchedule, type LearningRateSchedule, type WarmupCosineOptions } from './learning-rate-schedule.js';
import { clipByGlobalNorm } from './gradient-clipping.js';
import { accumulateGradients, computeGradients, scaleGradients } from './compute-gradients.js';
import { crossEntropyLoss } from '../ops/cross-entropy.js';
import { encodeModelFiles } from '../io/checkpoint.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from '../io/safetensors.js';
import { GradientWorker } from './gradient-worker.js';

type Variable = tfCore.Variable;

/** A loss over one micro-batch, computed inside the gradient tape. */
export type LossFunction = (batch: TrainingBatch) => tfCore.Scalar;

/** Options of {@link Trainer}. */
export interface TrainerOptions {
  /** The model to train (or whose forward a custom loss uses). */
  model: LlamaModel;
  /** Training data. */
  data: PackedDataset;
  /** Rows per micro-batch. */
  batchSize: number;
  /** Tokens per row. */
  sequenceLength: number;
  /** Micro-batches whose gradients are averaged into one optimizer step. Default 1. */
  accumulationSteps?: number;
  /** The learning rate per step: a function, or warmup + cosine options. */
  schedule: LearningRateSchedule | WarmupCosineOptions;
  /** AdamW options. */
  optimizer?: AdamWOptions;
  /** Clip the global gradient norm to this; `0` disables. Default 1. */
  maximumGradientNorm?: number;
  /** The variables to train, by name. Default: every model weight. Adapters pass their own. */
  variables?: ReadonlyMap<string, Variable>;
  /** The loss of a micro-batch. Default: the model's next-token cross-entropy. */
  lossFunction?: LossFunction;
  /** Periodic evaluation: `batches` batches of `data` (from its start) every `every` steps. */
  evaluation?: { data: PackedDataset; every: number; batches: number };
  /**
   * Data-parallel participants (default 1): with `n` > 1, each micro-batch is split into `n` equal
   * row slices; the main thread computes one and `n - 1` worker threads (each with its own tensor
   * backend and model replica, loaded from the built `dist/`) compute the others; the gradients
   * are averaged. Needs the default loss and variables, and `batchSize` divisible by `n`.
   */
  workers?: number;
}

/** The result of one optimizer step. */
export interface StepResult {
  /** The step number after this step (1-based). */
  step: number;
  /** Mean training loss over the micro-batches. */
  loss: number;
  /** The learning rate used. */
  learningRate: number;
  /** The global gradient norm before clipping. */
  gradientNorm: number;
  /** Tokens processed. */
  tokens: number;
}

/** Options of {@link Trainer.train}. */
export interface TrainOptions {
  /** Optimizer steps to run now. */
  steps: number;
  /** Cancels between steps with `AbortedError`; the trainer stays consistent. */
  signal?: AbortSignal;
  /** Log JSON lines even on a TTY. */
  json?: boolean;
  /** Print nothing. */
  silent?: boolean;
  /** Where progress goes (default stderr). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Save a checkpoint here every `checkpointEvery` steps and at the end. */
  checkpointDirectory?: string;
  /** Steps between checkpoints (default: only at the end). */
  checkpointEvery?: number;
}

/** What {@link Trainer.train} returns. */
export interface TrainSummary {
  /** The step reached. */
  step: number;
  /** The last training loss. */
  loss: number;
  /** Evaluation losses by step. */
  evaluations: { step: number; loss: number }[];
  /** Training throughput over the run. */
  tokensPerSecond: number;
}

/** File names inside a trainer checkpoint directory. */
export const trainerCheckpointFiles = {
  trainable: 'trainable.safetensors',
  optimizer: 'optimizer.safetensors',
  state: 'trainer-state.json',
} as const;

interface TrainerState {
  format: 'codestack-trainer';
  version: 1;
  step: number;
  batchSize: number;
  sequenceLength: number;
  accumulationSteps: number;
  dataPosition: DataPosition;
  sha256: { trainable: string; optimizer: string };
}

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new InvalidArgumentError({ argument: name, message: `expected a positive integer, got ${String(value)}` });
  return value;
}

/**
 * Trains a set of variables with AdamW, a learning-rate schedule, global-norm clipping and
 * gradient accumulation, on packed sequences from token shards. Checkpoints resume exactly:
 * weights, optimizer moments, step and data position (with its shuffle state) are saved.
 */
export class Trainer {
  /** The model. */
  readonly model: LlamaModel;
  /** The optimizer (its state is part of checkpoints). */
  readonly optimizer: AdamW;
  /** The trained variables by name. */
  readonly variables: ReadonlyMap<string, Variable>;
  private readonly options: TrainerOptions;
  private readonly schedule: LearningRateSchedule;
  private readonly lossFunction: LossFunction;
  private readonly accumulationSteps: number;
  private readonly evaluationStart: DataPosition | undefined;
  private stepCount = 0;
  private readonly participants: number;
  private workerPool: Promise<GradientWorker[]> | undefined;

  /** Creates a trainer; validates every option. */
  constructor(options: TrainerOptions) {
    positiveInteger('batchSize', options.batchSize);
    positiveInteger('sequenceLength', options.sequenceLength);
    this.accumulationSteps = positiveInteger('accumulationSteps', options.accumulationSteps ?? 1);
    if (options.sequenceLength > options.model.config.maximumContext) {
      throw new InvalidArgumentError({ argument: 'sequenceLength', message: `exceeds maximumContext ${options.model.config.maximumContext}` });
    }
    const clip = options.maximumGradientNorm ?? 1;
    if (!(clip >= 0)) throw new InvalidArgumentError({ argument: 'maximumGradientNorm', message: `expected a non-negative number, got ${clip}` });
    if (options.evaluation !== undefined) {
      positiveInteger('evaluation.every', options.evaluation.every);
      positiveInteger('evaluation.batches', options.evaluation.batches);
    }
    this.participants = positiveInteger('workers', options.workers ?? 1);
    if (this.participants > 1) {
      if (options.batchSize % this.participants !== 0) {
        throw new InvalidArgumentError({ argument: 'workers', message: `batchSize ${options.batchSize} is not divisible by ${this.participants} workers` });
      }
      if (options.lossFunction !== undefined || options.variables !== undefined) {
        throw new InvalidArgumentError({ argument: 'workers', message: 'data-parallel workers train the model with the default loss only' });
      }
    }
    this.options = options;
    this.model = options.model;
    this.variables = options.variables ?? options.model.trainableVariables();
    this.optimizer = new AdamW(options.model.runtime.tf, options.optimizer);
    this.schedule = typeof options.schedule === 'function' ? options.schedule : warmupCosineSchedule(options.schedule);
    this.lossFunction = options.lossFunction ?? ((batch) => this.defaultLoss(batch));
    this.evaluationStart = options.evaluation?.data.getPosition();
  }

  /** Optimizer steps done (restored by {@link Trainer.loadCheckpoint}). */
  get step(): number {
    return this.stepCount;
  }

  /** Runs one optimizer step: `accumulationSteps` micro-batches, clipping, AdamW. */
  async trainStep(signal?: AbortSignal): Promise<StepResult> {
    const runtime = this.model.runtime;
    runtime.assertActive();
    const tf = runtime.tf;
    const total = new Map<string, tfCore.Tensor>();
    let lossSum = 0;
    try {
      for (let micro = 0; micro < this.accumulationSteps; micro++) {
        throwIfAborted(signal, 'training step');
        const batch = await this.options.data.nextBatch(this.options.batchSize, this.options.sequenceLength);
        if (this.participants > 1) {
          lossSum += await this.dataParallelGradients(batch, total);
        } else {
          const { loss, gradients } = computeGradients(tf, this.variables, () => this.lossFunction(batch));
          lossSum += loss;
          accumulateGradients(tf, total, gradients);
        }
      }
      scaleGradients(tf, total, 1 / this.accumulationSteps);
      const clipNorm = this.options.maximumGradientNorm ?? 1;
      let gradients = total;
      let gradientNorm: number;
      if (clipNorm > 0) {
        const clipped = clipByGlobalNorm(tf, total, clipNorm);
        gradients = clipped.gradients;
        gradientNorm = clipped.norm;
      } else {
        gradientNorm = Number.NaN;
      }
      const learningRate = this.schedule(this.stepCount);
      this.optimizer.apply(this.variables, gradients, learningRate);
      for (const gradient of gradients.values()) gradient.dispose();
      total.clear();
      this.stepCount++;
      return {
        step: this.stepCount,
        loss: lossSum / this.accumulationSteps,
        learningRate,
        gradientNorm,
        tokens: this.accumulationSteps * this.options.batchSize * this.options.sequenceLength,
      };
    } finally {
      for (const gradient of total.values()) gradient.dispose();
    }
  }

  /** Mean loss over the evaluation batches (always the same batches: read from the evaluation data's start). */
  async evaluate(signal?: AbortSignal): Promise<number> {
    const evaluation = this.options.evaluation;
    if (evaluation === undefined || this.evaluationStart === undefined) throw new InvalidArgumentError({ argument: 'evaluation', message: 'no evaluation data was configured' });
    const tf = this.model.runtime.tf;
    evaluation.data.setPosition(this.evaluationStart);
    let sum = 0;
    for (let index = 0; index < evaluation.batches; index++) {
      throwIfAborted(signal, 'evaluation');
      const batch = await evaluation.data.nextBatch(this.options.batchSize, this.options.sequenceLength);
      sum += tf.tidy(() => this.lossFunction(batch).dataSync()[0] as number);
    }
    return sum / evaluation.batches;
  }

  /** Runs `steps` optimizer steps with progress reporting, periodic evaluation and checkpoints. */
  async train(options: TrainOptions): Promise<TrainSummary> {
    const steps = positiveInteger('steps', options.steps);
    const reporter = createProgressReporter({ label: 'train', total: this.stepCount + steps, json: options.json, silent: options.silent, stream: options.stream });
    const evaluations: { step: number; loss: number }[] = [];
    const started = performance.now();
    let tokens = 0;
    let loss = Number.NaN;
    const end = this.stepCount + steps;
    while (this.stepCount < end) {
      throwIfAborted(options.signal, 'training');
      const result = await this.trainStep(options.signal);
      tokens += result.tokens;
      loss = result.loss;
      const seconds = (performance.now() - started) / 1000;
      reporter.update({
        completed: result.step,
        fields: { loss: result.loss, learningRate: result.learningRate, gradientNorm: result.gradientNorm, tokensPerSecond: Math.round(tokens / seconds) },
      });
      if (this.options.evaluation !== undefined && result.step % this.options.evaluation.every === 0) {
        const evaluationLoss = await this.evaluate(options.signal);
        evaluations.push({ step: result.step, loss: evaluationLoss });
        reporter.event('evaluation', { step: result.step, loss: evaluationLoss });
      }
      const every = options.checkpointEvery;
      if (options.checkpointDirectory !== undefined && every !== undefined && result.step % every === 0 && this.stepCount < end) {
        await this.saveCheckpoint(options.checkpointDirectory);
        reporter.event('checkpoint', { step: result.step, directory: options.checkpointDirectory });
      }
    }
    if (options.checkpointDirectory !== undefined) {
      await this.saveCheckpoint(options.checkpointDirectory);
      reporter.event('checkpoint', { step: this.stepCount, directory: options.checkpointDirectory });
    }
    const tokensPerSecond = tokens / ((performance.now() - started) / 1000);
    reporter.finish({ loss, tokensPerSecond: Math.round(tokensPerSecond) });
    return { step: this.stepCount, loss, evaluations, tokensPerSecond };
  }

  /**
   * Saves everything needed for an exact resume into `directory`: the trained variables
   * (`trainable.safetensors`, memory layout, f32), the optimizer moments, and
   * `trainer-state.json` (step, data position, checksums). When the trainer trains the model's
   * own weights, the directory also gets `config.json` + `model.safetensors`, so it loads with
   * `loadModel`. All files are written as one atomic change (`writeDirectoryAtomic`): a crash
   * leaves the previous checkpoint or this one.
   */
  async saveCheckpoint(directory: string): Promise<void> {
    const trainable = new Map<string, SafetensorsTensor>();
    for (const [name, variable] of this.variables) trainable.set(name, { shape: [...variable.shape], data: new Float32Array(variable.dataSync() as Float32Array) });
    const trainableBytes = encodeSafetensors(trainable, { metadata: { format: 'codestack-trainable', layout: 'memory' } });
    const optimizerState = this.optimizer.getState();
    const optimizerTensors = new Map<string, SafetensorsTensor>();
    for (const [name, value] of optimizerState.firstMoments) optimizerTensors.set(`first.${name}`, value);
    for (const [name, value] of optimizerState.secondMoments) optimizerTensors.set(`second.${name}`, value);
    const optimizerBytes = encodeSafetensors(optimizerTensors, { metadata: { format: 'codestack-adamw', step: String(optimizerState.step) } });
    const files = new Map<string, string | Uint8Array>([
      [trainerCheckpointFiles.trainable, trainableBytes],
      [trainerCheckpointFiles.optimizer, optimizerBytes],
    ]);
    if (this.options.variables === undefined) for (const [name, bytes] of encodeModelFiles(this.model)) files.set(name, bytes);
    const state: TrainerState = {
      format: 'codestack-trainer',
      version: 1,
      step: this.stepCount,
      batchSize: this.options.batchSize,
      sequenceLength: this.options.sequenceLength,
      accumulationSteps: this.accumulationSteps,
      dataPosition: this.options.data.getPosition(),
      sha256: { trainable: sha256Hex(trainableBytes), optimizer: sha256Hex(optimizerBytes) },
    };
    files.set(trainerCheckpointFiles.state, `${JSON.stringify(state, null, 2)}\n`);
    await writeDirectoryAtomic(directory, files);
  }

  /**
   * Restores a checkpoint from {@link Trainer.saveCheckpoint}: variables, optimizer moments, step
   * and data position. Refuses damaged files (`CORRUPT_FILE`), absent ones (`MISSING_FILE`) and a
   * checkpoint of other variables or batch settings (`MISMATCHED_FILE`).
   */
  async loadCheckpoint(directory: string): Promise<void> {
    const files = await openDirectoryFiles(directory);
    const statePath = join(directory, trainerCheckpointFiles.state);
    const stateText = await files.read(trainerCheckpointFiles.state, { maximumBytes: 1 << 20 });
    let state: TrainerState;
    try {
      state = JSON.parse(new TextDecoder().decode(stateText)) as TrainerState;
    } catch (error) {
      throw new FileFormatError({ path: statePath, reason: 'corrupt', message: 'not valid JSON', cause: error });
    }
    if (state.format !== 'codestack-trainer' || state.version !== 1 || !Number.isInteger(state.step)) {
      throw new FileFormatError({ path: statePath, reason: 'corrupt', message: 'not a codestack trainer state (version 1)' });
    }
    for (const key of ['batchSize', 'sequenceLength', 'accumulationSteps'] as const) {
      const current = key === 'accumulationSteps' ? this.accumulationSteps : this.options[key];
      if (state[key] !== current) throw new FileFormatError({ path: statePath, reason: 'mismatch', message: `${key} is ${state[key]} in the checkpoint but ${current} now` });
    }
    const trainablePath = join(directory, trainerCheckpointFiles.trainable);
    const optimizerPath = join(directory, trainerCheckpointFiles.optimizer);
    const trainableBytes = await files.read(trainerCheckpointFiles.trainable);
    const optimizerBytes = await files.read(trainerCheckpointFiles.optimizer);
    if (sha256Hex(trainableBytes) !== state.sha256?.trainable) throw new FileFormatError({ path: trainablePath, reason: 'corrupt', message: 'SHA-256 differs from trainer-state.json' });
    if (sha256Hex(optimizerBytes) !== state.sha256?.optimizer) throw new FileFormatError({ path: optimizerPath, reason: 'corrupt', message: 'SHA-256 differs from trainer-state.json' });
    const trainable = decodeSafetensors(trainableBytes, trainablePath).tensors;
    const moments = decodeSafetensors(optimizerBytes, optimizerPath);
    const names = [...this.variables.keys()];
    if (trainable.size !== names.length || names.some((name) => !trainable.has(name))) {
      throw new FileFormatError({ path: trainablePath, reason: 'mismatch', message: 'the checkpoint holds a different set of variables' });
    }
    for (const [name, variable] of this.variables) {
      const tensor = trainable.get(name) as SafetensorsTensor;
      if (tensor.shape.join(',') !== variable.shape.join(',')) {
        throw new FileFormatError({ path: trainablePath, reason: 'mismatch', message: `${name} has shape [${tensor.shape.join(', ')}], expected [${variable.shape.join(', ')}]` });
      }
    }
    const tf = this.model.runtime.tf;
    const optimizerState: AdamWState = { step: Number(moments.metadata.step ?? 0), firstMoments: new Map(), secondMoments: new Map() };
    for (const [key, value] of moments.tensors) {
      const [kind, ...rest] = key.split('.');
      const name = rest.join('.');
      if (!this.variables.has(name)) throw new FileFormatError({ path: optimizerPath, reason: 'mismatch', message: `moment of unknown variable ${name}` });
      (kind === 'first' ? optimizerState.firstMoments : optimizerState.secondMoments).set(name, { shape: value.shape, data: value.data });
    }
    this.options.data.setPosition(state.dataPosition);
    for (const [name, variable] of this.variables) {
      const tensor = trainable.get(name) as SafetensorsTensor;
      const value = tf.tensor(tensor.data, tensor.shape, 'float32');
      variable.assign(value);
      value.dispose();
    }
    this.optimizer.setState(optimizerState);
    this.stepCount = state.step;
  }

  /** Releases the optimizer state and stops the worker threads (not the model). */
  dispose(): void {
    this.optimizer.dispose();
    const pool = this.workerPool;
    this.workerPool = undefined;
    void pool?.then((workers) => Promise.all(workers.map((worker) => worker.close()))).catch(() => undefined);
  }

  /**
   * Splits `batch` by rows over the main thread and the workers, adds the averaged gradients to
   * `total` and returns the mean loss. The workers get the current weights with each request.
   */
  private async dataParallelGradients(batch: TrainingBatch, total: Map<string, tfCore.Tensor>): Promise<number> {
    const tf = this.model.runtime.tf;
    this.workerPool ??= Promise.all(
      Array.from({ length: this.participants - 1 }, () => GradientWorker.start(this.model.runtime.backend, this.model.config)),
    );
    const workers = await this.workerPool;
    const rows = batch.batchSize / this.participants;
    const size = rows * batch.sequenceLength;
    const weights: [string, Float32Array][] = [...this.variables].map(([name, variable]) => [name, variable.dataSync() as Float32Array]);
    const replies = workers.map((worker, index) => {
      const start = (index + 1) * size;
      return worker.request({
        type: 'gradients',
        weights,
        inputs: batch.inputs.slice(start, start + size),
        targets: batch.targets.slice(start, start + size),
        batchSize: rows,
        sequenceLength: batch.sequenceLength,
      });
    });
    const own: TrainingBatch = { batchSize: rows, sequenceLength: batch.sequenceLength, inputs: batch.inputs.subarray(0, size), targets: batch.targets.subarray(0, size) };
    const { loss, gradients } = computeGradients(tf, this.variables, () => this.lossFunction(own));
    let lossSum = loss;
    const combined = gradients;
    try {
      for (const reply of await Promise.all(replies)) {
        if (reply.type !== 'gradients') continue;
        lossSum += reply.loss;
        for (const [name, values] of reply.gradients) {
          const previous = combined.get(name);
          const variable = this.variables.get(name);
          if (previous === undefined || variable === undefined) continue;
          combined.set(name, tf.tidy(() => tf.add(previous, tf.tensor(values, variable.shape, 'float32'))));
          previous.dispose();
        }
      }
    } catch (error) {
      for (const gradient of combined.values()) gradient.dispose();
      throw error;
    }
    scaleGradients(tf, combined, 1 / this.participants);
    accumulateGradients(tf, total, combined);
    return lossSum / this.participants;
  }

  private defaultLoss(batch: TrainingBatch): tfCore.Scalar {
    const tf = this.model.runtime.tf;
    const inputs = tf.tensor2d(batch.inputs, [batch.batchSize, batch.sequenceLength], 'int32');
    const targets = tf.tensor1d(batch.targets, 'int32');
    return crossEntropyLoss(tf, this.model.logitsFlat(inputs), targets);
  }
}
