import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfCore from '@tensorflow/tfjs-core';
import {
  CodestackError,
  FileFormatError,
  InvalidArgumentError,
  createProgressReporter,
  openDirectoryFiles,
  sha256Hex,
  throwIfAborted,
  writeDirectoryAtomic,
} from '@codestack/core';
import type { LlamaModel } from '../model/llama-model.js';
import type { BatchSource, TrainingBatch } from '../data/batch-source.js';
import { AdamW, type AdamWOptions, type AdamWState } from './adamw.js';
import { warmupCosineSchedule, type LearningRateSchedule, type WarmupCosineOptions } from './learning-rate-schedule.js';
import { globalNorm } from './gradient-clipping.js';
import { accumulateGradients, computeGradients, scaleGradients } from './compute-gradients.js';
import { crossEntropyLoss } from '../ops/cross-entropy.js';
import { encodeModelFiles } from '../io/checkpoint.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from '../io/safetensors.js';
import { GradientWorker } from './gradient-worker.js';
import { TrainingFailedError } from './training-failed-error.js';
import type { EvaluationResult, StepResult, TrainingObserver } from './training-observer.js';

type Variable = tfCore.Variable;

/**
 * A loss over one micro-batch, computed inside the gradient tape: a scalar tensor whose gradient
 * trains the variables (for example the tuning package's loss masked to completion tokens).
 */
export type LossFunction = (batch: TrainingBatch) => tfCore.Scalar;

/** Options of {@link Trainer}. */
export interface TrainerOptions {
  /** The model to train (or whose forward a custom loss uses). */
  model: LlamaModel;
  /** Training data: a `PackedDataset` of token shards or any other {@link BatchSource}. */
  data: BatchSource;
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
  /** The loss of a micro-batch. Default: the model's mean next-token cross-entropy (which refuses masked batches). */
  lossFunction?: LossFunction;
  /** Periodic evaluation: `batches` batches of `data` (from its start) every `every` steps. */
  evaluation?: { data: BatchSource; every: number; batches: number };
  /**
   * Data-parallel participants (default 1): with `n` > 1, each micro-batch is split into `n` equal
   * row slices; the main thread computes one and `n - 1` worker threads (each with its own tensor
   * backend and model replica, loaded from the built `dist/`) compute the others; the gradients
   * are averaged. Needs the default loss and variables, and `batchSize` divisible by `n`.
   */
  workers?: number;
}

/** Options of {@link Trainer.train}. */
export interface TrainOptions {
  /** Optimizer steps to run now. Give this or `untilStep`. */
  steps?: number;
  /** Run until the trainer's step reaches this (counting resumed steps; nothing to do when it already has). Give this or `steps`. */
  untilStep?: number;
  /** Cancels between micro-batches with `AbortedError`; the trainer stays consistent. */
  signal?: AbortSignal;
  /** The progress label. Default `train`. */
  label?: string;
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
  /**
   * Load the checkpoint in `checkpointDirectory` first when there is one (a `resume` progress
   * event and `observer.onResume` follow). Default false.
   */
  resume?: boolean;
  /** Callbacks after each step, evaluation, checkpoint and resume. */
  observer?: TrainingObserver;
}

/** What {@link Trainer.train} returns. */
export interface TrainSummary {
  /** The step reached. */
  step: number;
  /** The step this call started from (after a resume, the checkpoint's). */
  startStep: number;
  /** The last training loss (`NaN` when no step ran). */
  loss: number;
  /** The loss of every step this call ran. */
  losses: number[];
  /** Evaluation losses by step. */
  evaluations: EvaluationResult[];
  /** Tokens learned in this call (see {@link StepResult.tokens}). */
  tokens: number;
  /** Wall-clock seconds of this call's steps (evaluations and checkpoint saves included; loading the checkpoint it resumed from not). */
  seconds: number;
  /** Training throughput over the call. */
  tokensPerSecond: number;
  /** Peak tensor memory (`tf.profile`'s `peakBytes`) of the call's first step: activations, gradients and optimizer state. */
  peakTensorBytes: number;
  /** Highest process resident set size seen after a step, in bytes. */
  peakResidentBytes: number;
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
  /** The batch source's `position()`: any JSON value. */
  dataPosition: unknown;
  sha256: { trainable: string; optimizer: string };
}

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new InvalidArgumentError({ argument: name, message: `expected a positive integer, got ${String(value)}` });
  return value;
}

/**
 * The training loop of every codestack training path: trains a set of variables (the model's own
 * weights, or an adapter's over a frozen base) with AdamW, a learning-rate schedule, global-norm
 * clipping and gradient accumulation, on batches from any {@link BatchSource}, with a pluggable
 * {@link LossFunction} and {@link TrainingObserver}. Checkpoints resume exactly: weights,
 * optimizer moments, step and the batch source's position (with its generator state) are saved.
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
  private readonly evaluationStart: unknown;
  private stepCount = 0;
  private readonly participants: number;
  private workerPool: Promise<GradientWorker[]> | undefined;
  /** Set by `train` for its first step: `trainStep` records that step's tensor-memory peak here. */
  private peakProbe: { bytes: number } | undefined;

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
    this.evaluationStart = options.evaluation?.data.position();
  }

  /** Optimizer steps done (restored by {@link Trainer.loadCheckpoint}). */
  get step(): number {
    return this.stepCount;
  }

  /** Checks whether `directory` holds a trainer checkpoint (its state file), without reading it. */
  static async hasCheckpoint(directory: string): Promise<boolean> {
    try {
      await stat(join(directory, trainerCheckpointFiles.state));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Runs one optimizer step: `accumulationSteps` micro-batches, clipping, AdamW. An error that
   * is not a `CodestackError` is wrapped in {@link TrainingFailedError}; no tensor leaks either way.
   */
  async trainStep(signal?: AbortSignal): Promise<StepResult> {
    const runtime = this.model.runtime;
    runtime.assertActive();
    const tf = runtime.tf;
    const total = new Map<string, tfCore.Tensor>();
    let lossSum = 0;
    let tokens = 0;
    try {
      for (let micro = 0; micro < this.accumulationSteps; micro++) {
        throwIfAborted(signal, 'training step');
        const batch = await this.options.data.next(this.options.batchSize, this.options.sequenceLength);
        if (batch.batchSize !== this.options.batchSize || batch.sequenceLength !== this.options.sequenceLength) {
          throw new InvalidArgumentError({ argument: 'data', message: `the batch source returned ${batch.batchSize}x${batch.sequenceLength} rows, expected ${this.options.batchSize}x${this.options.sequenceLength}` });
        }
        tokens += batch.mask === undefined ? batch.batchSize * batch.sequenceLength : batch.mask.reduce((sum, value) => sum + value, 0);
        const computeMicroBatch = async (): Promise<void> => {
          if (this.participants > 1) {
            lossSum += await this.dataParallelGradients(batch, total);
          } else {
            const { loss, gradients } = computeGradients(tf, this.variables, () => this.lossFunction(batch));
            lossSum += loss;
            accumulateGradients(tf, total, gradients);
          }
        };
        if (this.peakProbe !== undefined && micro === 0) {
          // Profile only the first micro-batch's gradients (as the pre-Trainer loop did): kernel
          // profiling times every kernel, so clipping and AdamW stay outside it.
          const profile = await tf.profile(async () => {
            await computeMicroBatch();
            return [];
          });
          this.peakProbe.bytes = Math.max(this.peakProbe.bytes, profile.peakBytes);
        } else {
          await computeMicroBatch();
        }
      }
      scaleGradients(tf, total, 1 / this.accumulationSteps);
      const maximumNorm = this.options.maximumGradientNorm ?? 1;
      const gradients = total;
      // Clipping scales the gradients inside AdamW's update rather than with a kernel per gradient.
      const gradientNorm = maximumNorm > 0 ? globalNorm(tf, gradients) : Number.NaN;
      const clipScale = gradientNorm > maximumNorm ? maximumNorm / gradientNorm : 1;
      const learningRate = this.schedule(this.stepCount);
      this.optimizer.apply(this.variables, gradients, learningRate, clipScale);
      if (this.peakProbe !== undefined) this.peakProbe.bytes = Math.max(this.peakProbe.bytes, tf.memory().numBytes);
      for (const gradient of gradients.values()) gradient.dispose();
      total.clear();
      this.stepCount++;
      return {
        step: this.stepCount,
        loss: lossSum / this.accumulationSteps,
        learningRate,
        gradientNorm,
        tokens,
      };
    } catch (error) {
      if (CodestackError.isInstance(error)) throw error;
      throw new TrainingFailedError({ step: this.stepCount, message: error instanceof Error ? error.message : String(error), cause: error });
    } finally {
      for (const gradient of total.values()) gradient.dispose();
    }
  }

  /** Mean loss over the evaluation batches (always the same batches: read from the evaluation data's start). */
  async evaluate(signal?: AbortSignal): Promise<number> {
    const evaluation = this.options.evaluation;
    if (evaluation === undefined || this.evaluationStart === undefined) throw new InvalidArgumentError({ argument: 'evaluation', message: 'no evaluation data was configured' });
    const tf = this.model.runtime.tf;
    evaluation.data.restore(this.evaluationStart);
    let sum = 0;
    for (let index = 0; index < evaluation.batches; index++) {
      throwIfAborted(signal, 'evaluation');
      const batch = await evaluation.data.next(this.options.batchSize, this.options.sequenceLength);
      sum += tf.tidy(() => this.lossFunction(batch).dataSync()[0] as number);
    }
    return sum / evaluation.batches;
  }

  /**
   * Runs `steps` optimizer steps (or until step `untilStep`) with progress reporting, periodic
   * evaluation, checkpoints every `checkpointEvery` steps and at the end, and the observer's
   * callbacks; with `resume`, first loads the checkpoint in `checkpointDirectory` if there is one.
   * Measures throughput, the tensor memory peak of the first step and the resident set size.
   */
  async train(options: TrainOptions): Promise<TrainSummary> {
    if ((options.steps === undefined) === (options.untilStep === undefined)) {
      throw new InvalidArgumentError({ argument: 'steps', message: 'give either steps or untilStep' });
    }
    if (options.steps !== undefined) positiveInteger('steps', options.steps);
    if (options.untilStep !== undefined && !(Number.isInteger(options.untilStep) && options.untilStep >= 0)) {
      throw new InvalidArgumentError({ argument: 'untilStep', message: `expected a non-negative integer, got ${String(options.untilStep)}` });
    }
    if (options.checkpointEvery !== undefined) positiveInteger('checkpointEvery', options.checkpointEvery);
    const { observer, checkpointDirectory: directory } = options;
    let resumedFrom: number | undefined;
    if (options.resume === true && directory !== undefined && (await Trainer.hasCheckpoint(directory))) {
      await this.loadCheckpoint(directory);
      resumedFrom = this.stepCount;
    }
    // Timed from here: throughput covers the steps (and their checkpoints), not loading a resumed checkpoint.
    const started = performance.now();
    const startStep = this.stepCount;
    const end = options.untilStep ?? startStep + (options.steps as number);
    const reporter = createProgressReporter({ label: options.label ?? 'train', total: Math.max(end, startStep), json: options.json, silent: options.silent, stream: options.stream });
    if (resumedFrom !== undefined && directory !== undefined) {
      reporter.event('resume', { step: resumedFrom, directory });
      await observer?.onResume?.({ step: resumedFrom, directory });
    }
    const evaluations: EvaluationResult[] = [];
    const losses: number[] = [];
    let tokens = 0;
    let peakTensorBytes = 0;
    let peakResidentBytes = 0;
    const seconds = (): number => Math.max((performance.now() - started) / 1000, 1e-9);
    while (this.stepCount < end) {
      throwIfAborted(options.signal, 'training');
      let result: StepResult;
      if (this.stepCount === startStep) {
        // Measure the first step once: its peak holds activations, gradients and optimizer state.
        this.peakProbe = { bytes: 0 };
        try {
          result = await this.trainStep(options.signal);
          peakTensorBytes = this.peakProbe.bytes;
        } finally {
          this.peakProbe = undefined;
        }
      } else {
        result = await this.trainStep(options.signal);
      }
      peakResidentBytes = Math.max(peakResidentBytes, process.memoryUsage.rss());
      tokens += result.tokens;
      losses.push(result.loss);
      reporter.update({
        completed: result.step,
        fields: { loss: result.loss, learningRate: result.learningRate, gradientNorm: result.gradientNorm, tokensPerSecond: Math.round(tokens / seconds()) },
      });
      await observer?.onStep?.(result);
      if (this.options.evaluation !== undefined && result.step % this.options.evaluation.every === 0) {
        const evaluation = { step: result.step, loss: await this.evaluate(options.signal) };
        evaluations.push(evaluation);
        reporter.event('evaluation', { ...evaluation });
        await observer?.onEvaluation?.(evaluation);
      }
      // Let an abort (or other work) run between steps.
      await new Promise((resolve) => setImmediate(resolve));
      const every = options.checkpointEvery;
      if (directory !== undefined && every !== undefined && result.step % every === 0 && this.stepCount < end) {
        await this.checkpoint(directory, reporter, observer);
      }
    }
    if (directory !== undefined && this.stepCount > startStep) await this.checkpoint(directory, reporter, observer);
    const loss = losses.at(-1) ?? Number.NaN;
    const tokensPerSecond = tokens / seconds();
    reporter.finish({ loss, tokensPerSecond: Math.round(tokensPerSecond) });
    return { step: this.stepCount, startStep, loss, losses, evaluations, tokens, seconds: seconds(), tokensPerSecond, peakTensorBytes, peakResidentBytes };
  }

  private async checkpoint(directory: string, reporter: ReturnType<typeof createProgressReporter>, observer: TrainingObserver | undefined): Promise<void> {
    await this.saveCheckpoint(directory);
    reporter.event('checkpoint', { step: this.stepCount, directory });
    await observer?.onCheckpoint?.({ step: this.stepCount, directory });
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
      dataPosition: this.options.data.position(),
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
    // With a manifest, `files.read` has already checked each file's SHA-256; the hashes in
    // trainer-state.json guard checkpoints written before manifests (no manifest, unverified reads).
    if (files.manifest === undefined) {
      if (sha256Hex(trainableBytes) !== state.sha256?.trainable) throw new FileFormatError({ path: trainablePath, reason: 'corrupt', message: 'SHA-256 differs from trainer-state.json' });
      if (sha256Hex(optimizerBytes) !== state.sha256?.optimizer) throw new FileFormatError({ path: optimizerPath, reason: 'corrupt', message: 'SHA-256 differs from trainer-state.json' });
    }
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
    try {
      this.options.data.restore(state.dataPosition);
    } catch (error) {
      if (!InvalidArgumentError.isInstance(error)) throw error;
      throw new FileFormatError({ path: statePath, reason: 'mismatch', message: `the data position does not fit this batch source: ${error.message}`, cause: error });
    }
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
    if (batch.mask !== undefined) throw new InvalidArgumentError({ argument: 'workers', message: 'data-parallel workers train with the default loss, which takes no loss mask' });
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
    if (batch.mask !== undefined) {
      throw new InvalidArgumentError({ argument: 'lossFunction', message: 'the batch has a loss mask; pass a lossFunction that applies it' });
    }
    const inputs = tf.tensor2d(batch.inputs, [batch.batchSize, batch.sequenceLength], 'int32');
    const targets = tf.tensor1d(batch.targets, 'int32');
    return crossEntropyLoss(tf, this.model.logitsFlat(inputs), targets);
  }
}
