import { CodestackError } from '@codestack/core';
import type { BackendName, Runtime } from '../backend/runtime.js';
import { headSize, parameterCount, type ModelConfig } from './model-config.js';

/** Bytes per weight value in memory: TensorFlow.js has no 16-bit tensors, so every weight is float32. */
export const bytesPerWeight = 4;

/** The heap of the wasm backend: 32-bit WebAssembly addresses at most 4 GiB. */
export const wasmHeapBytes = 4 * 1024 * 1024 * 1024;

/** What {@link estimateModelMemory} reports. */
export interface ModelMemoryEstimate {
  /** Number of parameters. */
  parameters: number;
  /** Float32 weights on the backend (4 bytes per parameter, whatever the file's dtype). */
  weightBytes: number;
  /** The transposed copy of a tied embedding that inference keeps as its output head (0 when untied). */
  inferenceHeadBytes: number;
  /** Key/value cache bytes per token of context, per sequence. */
  keyValueBytesPerToken: number;
  /**
   * On wasm, the packed copy XNNPACK makes of every matMul weight (the projections and the output
   * head) at its first use and keeps while the weight lives: 4 bytes per such parameter. 0 on
   * other backends. Measured: a Qwen2.5-0.5B-shaped model's heap grew from 2.46 to 3.89 GB in its
   * first forward, the size of its projections.
   */
  packedWeightBytes: number;
  /** Working memory of one forward pass over `contextTokens` tokens (attention scores, feed-forward, one row of logits). */
  activationBytes: number;
  /** The sum: weights, head, packed copies, a `contextTokens` cache and the working memory. */
  totalBytes: number;
  /** The context the cache and working memory were sized for. */
  contextTokens: number;
}

/** Options of {@link estimateModelMemory}. */
export interface ModelMemoryOptions {
  /** The context the cache and working memory are sized for. Default 2 048 tokens. */
  contextTokens?: number;
  /** The backend; `wasm` adds XNNPACK's packed weight copies. Default `wasm` (the default backend). */
  backend?: BackendName;
}

/**
 * The memory a model with `config` needs on the backend, by arithmetic (nothing allocated):
 * float32 weights, the inference head of a tied embedding, on wasm the packed copies of matMul
 * weights, a key/value cache of `contextTokens` tokens at batch 1, and the working memory of a
 * prompt of that length.
 */
export function estimateModelMemory(config: ModelConfig, options: ModelMemoryOptions = {}): ModelMemoryEstimate {
  const contextTokens = options.contextTokens ?? 2048;
  const backend = options.backend ?? 'wasm';
  const parameters = parameterCount(config);
  const weightBytes = parameters * bytesPerWeight;
  const inferenceHeadBytes = config.tiedEmbeddings ? config.vocabularySize * config.hiddenSize * bytesPerWeight : 0;
  const keyValueBytesPerToken = 2 * config.layers * config.keyValueHeads * headSize(config) * bytesPerWeight;
  const queryWidth = config.attentionHeads * headSize(config);
  const matMulParameters =
    config.layers * config.hiddenSize * (2 * queryWidth + 2 * config.keyValueHeads * headSize(config) + 3 * config.feedForwardSize) + config.vocabularySize * config.hiddenSize;
  const packedWeightBytes = backend === 'wasm' ? matMulParameters * bytesPerWeight : 0;
  // Scores and probabilities of one layer, plus a handful of [tokens, width] rows, plus one row of logits.
  const activationBytes =
    bytesPerWeight * (2 * config.attentionHeads * contextTokens * contextTokens + contextTokens * (3 * config.feedForwardSize + 4 * config.hiddenSize + 3 * queryWidth) + config.vocabularySize);
  return {
    parameters,
    weightBytes,
    inferenceHeadBytes,
    packedWeightBytes,
    keyValueBytesPerToken,
    activationBytes,
    totalBytes: weightBytes + inferenceHeadBytes + packedWeightBytes + keyValueBytesPerToken * contextTokens + activationBytes,
    contextTokens,
  };
}

const marker = 'codestack.error.model-too-large';
const markerSymbol = Symbol.for(marker);

function gibibytes(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/**
 * A model needs more memory than its backend can give (code `MODEL_TOO_LARGE`); raised before
 * anything is allocated. The message says how much, and what to do instead.
 */
export class ModelTooLargeError extends CodestackError {
  private readonly [markerSymbol] = true;

  /** The bytes the model needs ({@link ModelMemoryEstimate.totalBytes}). */
  readonly requiredBytes: number;
  /** The bytes the backend has left. */
  readonly availableBytes: number;
  /** The backend that refused. */
  readonly backend: string;

  constructor({ requiredBytes, availableBytes, backend, message }: { requiredBytes: number; availableBytes: number; backend: string; message: string }) {
    super({ code: 'MODEL_TOO_LARGE', message });
    this.name = 'ModelTooLargeError';
    this.requiredBytes = requiredBytes;
    this.availableBytes = availableBytes;
    this.backend = backend;
  }

  /** Whether `error` is a {@link ModelTooLargeError}, from any copy of this package. */
  static override isInstance(error: unknown): error is ModelTooLargeError {
    return ModelTooLargeError.hasMarker(error, marker);
  }
}

/**
 * Throws {@link ModelTooLargeError} when a model with `config` cannot fit in the wasm backend's
 * 4 GiB heap next to what is already allocated there (other backends use the process's memory
 * and are not checked). Returns the estimate otherwise.
 */
export function assertModelFits(runtime: Runtime, config: ModelConfig, contextTokens = 2048): ModelMemoryEstimate {
  const estimate = estimateModelMemory(config, { contextTokens, backend: runtime.backend });
  if (runtime.backend !== 'wasm') return estimate;
  const availableBytes = Math.max(0, wasmHeapBytes - runtime.tf.memory().numBytes);
  if (estimate.totalBytes > availableBytes) {
    throw new ModelTooLargeError({
      requiredBytes: estimate.totalBytes,
      availableBytes,
      backend: runtime.backend,
      message:
        `the model has ${estimate.parameters} parameters and needs about ${gibibytes(estimate.totalBytes)} ` +
        `(${gibibytes(estimate.weightBytes)} of float32 weights: TensorFlow.js keeps no 16-bit tensors, so bf16/f16 files double in memory; ` +
        `${gibibytes(estimate.inferenceHeadBytes)} of tied output head; ${gibibytes(estimate.packedWeightBytes)} of the copies XNNPACK packs for matMuls; ` +
        `a ${contextTokens}-token cache and working memory), ` +
        `but the wasm backend's heap has ${gibibytes(availableBytes)} left of its 4 GiB. ` +
        'Use the tensorflow backend (install @tensorflow/tfjs-node, createRuntime({ backend: "tensorflow" })), or a smaller model.',
    });
  }
  return estimate;
}
