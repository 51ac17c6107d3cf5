import { readFile } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfCore from '@tensorflow/tfjs-core';
import {
  CodestackError,
  FileFormatError,
  InvalidArgumentError,
  sha256Hex,
  throwIfAborted,
  writeFileAtomic,
} from '@codestack/core';
import {
  AdamW,
  SeededRandom,
  accumulateGradients,
  clipByGlobalNorm,
  computeGradients,
  decodeSafetensors,
  encodeSafetensors,
  scaleGradients,
  warmupCosineSchedule,
  type AdamWState,
  type LlamaModel,
  type SafetensorsTensor,
  type SeededRandomState,
} from '@codestack/runtime';
import { batchTensors, maskedNegativeLogLikelihood } from './masked-loss.js';
import { buildWindows, type TokenData } from './training-data.js';
import { TrainingFailedError } from './training-failed-error.js';
import { TrainingRecorder } from './training-recorder.js';

type Variable = tfCore.Variable;

/** Options of the training loop shared by adapter training and full fine-tuning. */
export interface TrainingOptions {
  /** The training data: token sequences (a code corpus) or prompt→completion pairs. */
  data: TokenData;
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
  /** Clip the global gradient norm to this value; 0 disables clipping. Default 1. */
  clipNorm?: number;
  /** Seed of the batch sampling. Default 0. */
  seed?: number;
  /** Write a resumable training state here every `checkpointEvery` steps and at the end. */
  checkpointDirectory?: string;
  /** Steps between training-state checkpoints. Default 50. */
  checkpointEvery?: number;
  /** Resume from the training state in `checkpointDirectory` when there is one. Default true. */
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
  /** Wall-clock seconds of this call's steps. */
  seconds: number;
  /** Learned tokens per second. */
  tokensPerSecond: number;
  /** Peak tensor memory (`tf.memory().numBytes`) during the first step, which holds activations, gradients and optimizer state. */
  peakTensorBytes: number;
  /** Highest process resident set size seen after a step, in bytes. */
  peakResidentBytes: number;
  /** Number of trained parameters. */
  trainableParameters: number;
}

const stateFiles = { json: 'training-state.json', tensors: 'training-state.safetensors' } as const;

function positiveInteger(value: number, argument: string): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError({ argument, message: `expected a positive integer, got ${JSON.stringify(value)}` });
  return value;
}

function nonNegative(value: number, argument: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new InvalidArgumentError({ argument, message: `expected a non-negative number, got ${JSON.stringify(value)}` });
  return value;
}

/**
 * Trains `variables` of `model` (all others stay untouched) with masked next-token loss, AdamW,
 * warmup+cosine schedule, global-norm clipping and gradient accumulation; reports progress with
 * core's progress reporter and checkpoints a resumable state. `label` names the progress.
 */
export async function runTrainingLoop(model: LlamaModel, variables: ReadonlyMap<string, Variable>, options: TrainingOptions, label: string): Promise<TrainingResult> {
  const tf = model.runtime.tf;
  model.runtime.assertActive();
  const steps = positiveInteger(options.steps, 'steps');
  const batchSize = positiveInteger(options.batchSize ?? 4, 'batchSize');
  const sequenceLength = positiveInteger(options.sequenceLength ?? Math.min(64, model.config.maximumContext), 'sequenceLength');
  if (sequenceLength > model.config.maximumContext) {
    throw new InvalidArgumentError({ argument: 'sequenceLength', message: `${sequenceLength} exceeds maximumContext ${model.config.maximumContext}` });
  }
  const accumulationSteps = positiveInteger(options.accumulationSteps ?? 1, 'accumulationSteps');
  const learningRate = options.learningRate ?? 1e-3;
  const schedule = warmupCosineSchedule({
    peakLearningRate: learningRate,
    warmupSteps: options.warmupSteps ?? 0,
    totalSteps: steps,
    minimumLearningRate: options.minimumLearningRate ?? learningRate / 10,
  });
  const clipNorm = nonNegative(options.clipNorm ?? 1, 'clipNorm');
  const checkpointEvery = positiveInteger(options.checkpointEvery ?? 50, 'checkpointEvery');
  if (variables.size === 0) throw new InvalidArgumentError({ argument: 'variables', message: 'nothing to train' });
  const windows = buildWindows(options.data, sequenceLength, model.config.vocabularySize);
  throwIfAborted(options.signal, label);

  const list = [...variables.values()];
  const optimizer = new AdamW(tf, {
    beta1: options.beta1 ?? 0.9,
    beta2: options.beta2 ?? 0.999,
    epsilon: options.epsilon ?? 1e-8,
    weightDecay: options.weightDecay ?? 0,
  });
  let random = new SeededRandom(options.seed ?? 0);
  let step = 0;
  try {
    if (options.checkpointDirectory !== undefined && options.resume !== false) {
      const restored = await readTrainingState(options.checkpointDirectory, variables, optimizer, tf);
      if (restored !== undefined) {
        step = restored.step;
        random = SeededRandom.fromState(restored.randomState);
      }
    }
    const recorder = new TrainingRecorder(options, label, steps, step, list.reduce((total, variable) => total + variable.size, 0));
    for (; step < steps; step++) {
      const rate = schedule(step);
      let stepLoss = 0;
      let stepTokens = 0;
      const measure = step === recorder.startStep;
      const bytesBefore = tf.memory().numBytes;
      let peakInStep = bytesBefore;
      const total = new Map<string, tfCore.Tensor>();
      try {
        for (let micro = 0; micro < accumulationSteps; micro++) {
          throwIfAborted(options.signal, label);
          const chosen = Array.from({ length: batchSize }, () => windows[random.nextInt(windows.length)] as (typeof windows)[number]);
          const batch = batchTensors(model, chosen);
          const learned = Math.max(1, batch.learnedTokens);
          try {
            const lossFunction = (): tfCore.Scalar => tf.div(maskedNegativeLogLikelihood(model, batch), learned) as tfCore.Scalar;
            let result: { loss: number; gradients: Map<string, tfCore.Tensor> };
            if (measure) {
              // Profile the first micro-batch once: its peak holds activations and gradients.
              let captured: { loss: number; gradients: Map<string, tfCore.Tensor> } | undefined;
              const profile = await tf.profile(() => {
                captured = computeGradients(tf, variables, lossFunction);
                return [...captured.gradients.values()];
              });
              // `peakBytes` is the engine's absolute total at its highest point.
              peakInStep = Math.max(peakInStep, profile.peakBytes);
              result = captured as { loss: number; gradients: Map<string, tfCore.Tensor> };
            } else {
              result = computeGradients(tf, variables, lossFunction);
            }
            stepLoss += result.loss / accumulationSteps;
            accumulateGradients(tf, total, result.gradients);
            stepTokens += batch.learnedTokens;
          } finally {
            tf.dispose([batch.inputs, batch.targets, batch.mask]);
          }
        }
        scaleGradients(tf, total, 1 / accumulationSteps);
        const gradients = clipNorm > 0 ? clipByGlobalNorm(tf, total, clipNorm).gradients : total;
        optimizer.apply(variables, gradients, rate);
        if (measure) peakInStep = Math.max(peakInStep, tf.memory().numBytes);
        for (const gradient of gradients.values()) gradient.dispose();
        total.clear();
      } finally {
        for (const gradient of total.values()) gradient.dispose();
      }
      recorder.notePeakTensorBytes(peakInStep);
      recorder.step(step + 1, stepLoss, rate, stepTokens);
      const done = step + 1;
      // Yield to the event loop so that an abort (or other work) can run between steps.
      await new Promise((resolve) => setImmediate(resolve));
      if (options.checkpointDirectory !== undefined && (done % checkpointEvery === 0 || done === steps)) {
        await writeTrainingState(options.checkpointDirectory, done, random.getState(), variables, optimizer);
        recorder.checkpoint(done, options.checkpointDirectory);
      }
    }
    return recorder.finish(step);
  } catch (error) {
    if (CodestackError.isInstance(error)) throw error;
    throw new TrainingFailedError({ step, message: error instanceof Error ? error.message : String(error), cause: error });
  } finally {
    optimizer.dispose();
  }
}

async function writeTrainingState(
  directory: string,
  step: number,
  randomState: SeededRandomState,
  variables: ReadonlyMap<string, Variable>,
  optimizer: AdamW,
): Promise<void> {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, variable] of variables) tensors.set(`value/${name}`, { shape: [...variable.shape], data: new Float32Array(variable.dataSync() as Float32Array) });
  const state = optimizer.getState();
  for (const [name, moment] of state.firstMoments) tensors.set(`adamw.m/${name}`, moment);
  for (const [name, moment] of state.secondMoments) tensors.set(`adamw.v/${name}`, moment);
  const bytes = encodeSafetensors(tensors, { metadata: { producer: '@codestack/tuning' } });
  await mkdir(directory, { recursive: true });
  await writeFileAtomic(join(directory, stateFiles.tensors), bytes);
  const json = { version: 1, step, optimizerStep: state.step, randomState, variables: [...variables.keys()], sha256: sha256Hex(bytes) };
  await writeFileAtomic(join(directory, stateFiles.json), `${JSON.stringify(json, null, 2)}\n`);
}

async function readTrainingState(
  directory: string,
  variables: ReadonlyMap<string, Variable>,
  optimizer: AdamW,
  tf: LlamaModel['runtime']['tf'],
): Promise<{ step: number; randomState: SeededRandomState } | undefined> {
  const jsonPath = join(directory, stateFiles.json);
  let text: string;
  try {
    text = await readFile(jsonPath, 'utf8');
  } catch {
    return undefined;
  }
  let json: { version?: unknown; step?: unknown; optimizerStep?: unknown; randomState?: unknown; variables?: unknown; sha256?: unknown };
  try {
    json = JSON.parse(text) as typeof json;
  } catch (error) {
    throw new FileFormatError({ path: jsonPath, reason: 'corrupt', message: 'the training state is not valid JSON', cause: error });
  }
  if (json.version !== 1 || !Number.isInteger(json.step) || !Number.isInteger(json.optimizerStep) || !Array.isArray(json.randomState) || typeof json.sha256 !== 'string') {
    throw new FileFormatError({ path: jsonPath, reason: 'corrupt', message: 'the training state lacks version, step, optimizerStep, randomState or sha256' });
  }
  const names = [...variables.keys()];
  if (!Array.isArray(json.variables) || json.variables.join('\n') !== names.join('\n')) {
    throw new FileFormatError({ path: jsonPath, reason: 'mismatch', message: 'the training state holds other variables than the ones being trained' });
  }
  const tensorsPath = join(directory, stateFiles.tensors);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(tensorsPath);
  } catch (error) {
    throw new FileFormatError({ path: tensorsPath, reason: 'missing', message: 'the training state tensors are missing', cause: error });
  }
  if (sha256Hex(bytes) !== json.sha256) throw new FileFormatError({ path: tensorsPath, reason: 'corrupt', message: 'SHA-256 differs from training-state.json' });
  const { tensors } = decodeSafetensors(bytes, tensorsPath);
  const get = (name: string, shape: readonly number[]): SafetensorsTensor => {
    const tensor = tensors.get(name);
    if (tensor === undefined || tensor.shape.join() !== shape.join()) {
      throw new FileFormatError({ path: tensorsPath, reason: 'mismatch', message: `${name} is missing or has another shape` });
    }
    return tensor;
  };
  const state: AdamWState = { step: json.optimizerStep as number, firstMoments: new Map(), secondMoments: new Map() };
  const values = new Map<string, SafetensorsTensor>();
  for (const [name, variable] of variables) {
    values.set(name, get(`value/${name}`, variable.shape));
    // Moments exist only once a variable has had an update.
    if (tensors.has(`adamw.m/${name}`)) state.firstMoments.set(name, get(`adamw.m/${name}`, variable.shape));
    if (tensors.has(`adamw.v/${name}`)) state.secondMoments.set(name, get(`adamw.v/${name}`, variable.shape));
  }
  for (const [name, variable] of variables) {
    const value = values.get(name) as SafetensorsTensor;
    tf.tidy(() => variable.assign(tf.tensor(value.data, value.shape, 'float32')));
  }
  optimizer.setState(state);
  return { step: json.step as number, randomState: json.randomState as SeededRandomState };
}
