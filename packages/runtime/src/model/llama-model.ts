import type * as tfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@codestack/core';
import type { Runtime } from '../backend/runtime.js';
import type { TensorFlow } from '../backend/tensorflow.js';
import { validateModelConfig, weightShapes, type ModelConfig } from './model-config.js';
import { embeddingLookup } from '../ops/embedding-lookup.js';
import { matMul2d } from '../ops/mat-mul-2d.js';
import { rmsNorm } from '../ops/rms-norm.js';
import { causalMask } from '../ops/causal-mask.js';
import { causalAttentionRuns } from '../kernels/causal-attention.js';
import { registerSharedIdentityKernel } from '../ops/shared-identity-kernel.js';
import { SeededRandom } from '../random/seeded-random.js';
import { KeyValueCache } from './key-value-cache.js';
import { decodeStep } from './decode-step.js';
import { computesOnHost } from '../backend/host-compute.js';
import { assertModelFits, type ModelTooLargeError } from './model-memory.js';
import { decoderLayer } from './decoder-layer.js';
import type { ForwardPass } from './forward-pass.js';
import { projectionWeightName, type LinearHook, type ProjectionName } from './projection.js';
import { createRotaryTables, type RotaryTables } from './rotary-tables.js';

type Tensor2D = tfCore.Tensor2D;
type Variable = tfCore.Variable;

/** Options of {@link LlamaModel.create}. */
export interface CreateModelOptions {
  /** Seed of the weight initialisation (normal, standard deviation 0.02). Default 0. */
  seed?: number;
  /** Standard deviation of the initial linear and embedding weights. Default 0.02. */
  initializerRange?: number;
}

/** Options of {@link LlamaModel.logits}. */
export interface LogitsOptions {
  /** Compute logits for the last position of each sequence only (shape [batch, 1, vocabulary]). */
  lastPositionOnly?: boolean;
  /**
   * Record what gradients need (custom-gradient ops). Default: false for {@link LlamaModel.logits}
   * (inference), true for {@link LlamaModel.logitsFlat} (training).
   */
  differentiable?: boolean;
}

/** A weight in Hugging Face layout: shape and float32 values. */
export interface WeightData {
  /** Hugging Face shape ([out, in] for linear layers). */
  shape: number[];
  /** Row-major float32 values. */
  data: Float32Array;
}

function isLinearWeight(name: string): boolean {
  return name.endsWith('_proj.weight') || name === 'lm_head.weight';
}

/**
 * A Llama-style decoder (RMSNorm, rotary position embeddings, grouped-query attention, SwiGLU)
 * on a {@link Runtime}; with the options of {@link ModelConfig} it also runs Qwen2/2.5 (query,
 * key and value biases) and Qwen3 (explicit head size, per-head RMSNorm on queries and keys). Weights are tfjs variables keyed by their Hugging Face names. Linear
 * weights are kept in memory as [in, out] (the transpose of Hugging Face's [out, in]) so that
 * every matMul, forward and backward, runs without tfjs's slow transposed kernels.
 */
export class LlamaModel {
  /** The validated configuration. */
  readonly config: Readonly<ModelConfig>;
  /** The runtime the weights live on. */
  readonly runtime: Runtime;
  /** Every weight (and bias, and per-head norm) by Hugging Face name, in memory layout (see {@link LlamaModel.memoryLayout}). */
  readonly weights: ReadonlyMap<string, Variable>;
  /** Optional hook around every projection (see {@link LinearHook}); `undefined` for none. */
  linearHook: LinearHook | undefined;

  private readonly tf: TensorFlow;
  private readonly rotary: RotaryTables;
  private disposed = false;
  /** The tied head, transposed once for inference; refreshed when the embedding is reassigned. */
  private tiedHead: { source: object; tensor: Tensor2D } | undefined;

  private constructor(runtime: Runtime, config: Readonly<ModelConfig>, weights: Map<string, Variable>) {
    this.runtime = runtime;
    this.tf = runtime.tf;
    this.config = config;
    this.weights = weights;
    this.rotary = createRotaryTables(config);
    registerSharedIdentityKernel(this.tf);
    if (config.tiedEmbeddings) {
      const embedding = this.getWeight('model.embed_tokens.weight');
      this.tiedHead = { source: embedding.dataId, tensor: this.tf.transpose(embedding) as Tensor2D };
    }
  }

  /**
   * Creates a model with freshly initialised weights (deterministic for a given seed). Throws
   * {@link ModelTooLargeError} first when it cannot fit the backend (see `assertModelFits`).
   */
  static create(runtime: Runtime, config: ModelConfig, options: CreateModelOptions = {}): LlamaModel {
    const valid = validateModelConfig(config);
    runtime.assertActive();
    assertModelFits(runtime, valid);
    const random = new SeededRandom(options.seed ?? 0);
    const range = options.initializerRange ?? 0.02;
    const weights = new Map<string, WeightData>();
    for (const [name, shape] of weightShapes(valid)) {
      const size = shape.reduce((product, value) => product * value, 1);
      const data = new Float32Array(size);
      if (name.endsWith('norm.weight')) data.fill(1);
      else for (let index = 0; index < size; index++) data[index] = random.nextNormal() * range;
      weights.set(name, { shape, data });
    }
    return LlamaModel.fromWeights(runtime, valid, weights);
  }

  /**
   * Creates a model from weights in Hugging Face layout. Checks that every expected weight is
   * present with the expected shape and value count, before anything is allocated; throws
   * {@link InvalidArgumentError} otherwise.
   */
  static fromWeights(runtime: Runtime, config: ModelConfig, weights: ReadonlyMap<string, WeightData>): LlamaModel {
    const valid = validateModelConfig(config);
    runtime.assertActive();
    const shapes = weightShapes(valid);
    for (const [name, shape] of shapes) {
      const weight = weights.get(name);
      if (weight === undefined) throw new InvalidArgumentError({ argument: 'weights', message: `missing weight ${name}` });
      if (weight.shape.length !== shape.length || weight.shape.some((size, index) => size !== shape[index])) {
        throw new InvalidArgumentError({
          argument: 'weights',
          message: `${name} has shape [${weight.shape.join(', ')}], expected [${shape.join(', ')}]`,
        });
      }
      const count = shape.reduce((product, size) => product * size, 1);
      if (!(weight.data instanceof Float32Array) || weight.data.length !== count) {
        throw new InvalidArgumentError({ argument: 'weights', message: `${name} needs ${count} float32 values` });
      }
    }
    const variables = new Map<string, Variable>();
    try {
      for (const [name, shape] of shapes) variables.set(name, LlamaModel.toVariable(runtime.tf, name, shape, (weights.get(name) as WeightData).data));
    } catch (error) {
      for (const variable of variables.values()) variable.dispose();
      throw error;
    }
    return new LlamaModel(runtime, valid, variables);
  }

  /**
   * Creates a model by reading one weight at a time (Hugging Face name and shape in
   * {@link weightShapes} order): each is moved to the backend before the next is read, so a
   * loader never holds more than one weight outside the backend. `read` must return exactly
   * `shape`'s number of float32 values. When `read` or an allocation fails, every weight
   * allocated so far is released and the error is rethrown.
   */
  static async fromWeightReader(runtime: Runtime, config: ModelConfig, read: (name: string, shape: readonly number[]) => Promise<Float32Array>): Promise<LlamaModel> {
    const valid = validateModelConfig(config);
    runtime.assertActive();
    const variables = new Map<string, Variable>();
    try {
      for (const [name, shape] of weightShapes(valid)) {
        const data = await read(name, shape);
        const count = shape.reduce((product, size) => product * size, 1);
        if (!(data instanceof Float32Array) || data.length !== count) {
          throw new InvalidArgumentError({ argument: 'read', message: `returned ${String((data as { length?: unknown } | undefined)?.length)} values for ${name}, expected ${count}` });
        }
        runtime.assertActive();
        variables.set(name, LlamaModel.toVariable(runtime.tf, name, shape, data));
      }
    } catch (error) {
      for (const variable of variables.values()) variable.dispose();
      throw error;
    }
    return new LlamaModel(runtime, valid, variables);
  }

  private static toVariable(tf: TensorFlow, name: string, shape: number[], data: Float32Array): Variable {
    const value = tf.tidy(() => {
      const tensor = tf.tensor(data, shape, 'float32');
      return isLinearWeight(name) ? tf.transpose(tensor) : tensor;
    });
    const variable = tf.variable(value, true);
    value.dispose();
    return variable;
  }

  /** `transposed` for linear weights (memory [in, out], Hugging Face [out, in]), `same` otherwise. */
  static memoryLayout(name: string): 'transposed' | 'same' {
    return isLinearWeight(name) ? 'transposed' : 'same';
  }

  /** A weight by Hugging Face name, in memory layout. Throws {@link InvalidArgumentError} for an unknown name. */
  getWeight(name: string): Variable {
    const weight = this.weights.get(name);
    if (weight === undefined) throw new InvalidArgumentError({ argument: 'name', message: `no weight named ${name}` });
    return weight;
  }

  /** The weight name of one projection. */
  static projectionWeightName(layer: number, projection: ProjectionName): string {
    return projectionWeightName(layer, projection);
  }

  /** Every weight in Hugging Face layout (linear weights transposed back to [out, in]). */
  exportWeights(): Map<string, WeightData> {
    this.assertUsable();
    const tf = this.tf;
    const result = new Map<string, WeightData>();
    for (const [name, variable] of this.weights) {
      const tensor = isLinearWeight(name) ? tf.transpose(variable) : variable;
      const data = new Float32Array(tensor.dataSync() as Float32Array);
      if (tensor !== variable) tensor.dispose();
      result.set(name, { shape: weightShapes(this.config).get(name) ?? [], data });
    }
    return result;
  }

  /** The trainable variables, in a stable order (Hugging Face names). */
  trainableVariables(): Map<string, Variable> {
    return new Map(this.weights);
  }

  /** Creates an empty key/value cache for `batchSize` sequences. */
  createCache(batchSize = 1): KeyValueCache {
    return new KeyValueCache(this.config.layers, batchSize, { maximumLength: this.config.maximumContext });
  }

  /**
   * Logits for token ids `inputIds` ([batch, tokens] int32 or nested arrays): shape
   * [batch, tokens, vocabulary]. Without a cache this is the full causal forward (training).
   * With a cache, the tokens continue the cached sequence (positions start at `cache.length`)
   * and their keys and values are appended to it.
   *
   * With `lastPositionOnly`, only the last position's logits are computed ([batch, 1, vocabulary]).
   * The caller owns the returned tensor (dispose it, or call inside `tf.tidy`).
   */
  logits(inputIds: tfCore.Tensor2D | number[][], cache?: KeyValueCache, options: LogitsOptions = {}): tfCore.Tensor3D {
    this.assertUsable();
    const tf = this.tf;
    const [batch, tokens] = this.validateInput(inputIds, cache);
    return tf.tidy(() => {
      const ids = Array.isArray(inputIds) ? tf.tensor2d(inputIds.flat(), [batch, tokens], 'int32') : inputIds;
      const flat = this.logitsFlat(ids, cache, { differentiable: false, ...options });
      return tf.reshape(flat, [batch, options.lastPositionOnly === true ? 1 : tokens, this.config.vocabularySize]) as tfCore.Tensor3D;
    });
  }

  /**
   * {@link LlamaModel.logits} together with the final hidden states it computes on the way: the
   * input of the output head (after the final norm), shape [batch, tokens, hiddenSize] (or
   * [batch, 1, hiddenSize] with `lastPositionOnly`). One forward pass; the logits are the same
   * numbers {@link LlamaModel.logits} gives. The caller owns both tensors.
   */
  logitsWithHiddenStates(
    inputIds: tfCore.Tensor2D | number[][],
    cache?: KeyValueCache,
    options: LogitsOptions = {},
  ): { logits: tfCore.Tensor3D; hiddenStates: tfCore.Tensor3D } {
    this.assertUsable();
    const tf = this.tf;
    const [batch, tokens] = this.validateInput(inputIds, cache);
    return tf.tidy(() => {
      const ids = Array.isArray(inputIds) ? tf.tensor2d(inputIds.flat(), [batch, tokens], 'int32') : inputIds;
      const { final, logits } = this.forwardFlat(ids, cache, { differentiable: false, ...options }, true);
      const positions = options.lastPositionOnly === true ? 1 : tokens;
      return {
        logits: tf.reshape(logits, [batch, positions, this.config.vocabularySize]) as tfCore.Tensor3D,
        hiddenStates: tf.reshape(final, [batch, positions, this.config.hiddenSize]) as tfCore.Tensor3D,
      };
    });
  }

  /**
   * The final hidden states alone: the input of the output head (after the final norm), shape
   * [batch, tokens, hiddenSize] (or [batch, 1, hiddenSize] with `lastPositionOnly`), the same
   * numbers {@link LlamaModel.logitsWithHiddenStates} gives, without running the output head (no
   * [tokens × vocabulary] logits are allocated: 2.5 GB for 4,096 tokens of a 151,936-token
   * vocabulary). With a cache, as {@link LlamaModel.logits}. The caller owns the returned tensor.
   */
  hiddenStates(inputIds: tfCore.Tensor2D | number[][], cache?: KeyValueCache, options: Pick<LogitsOptions, 'lastPositionOnly'> = {}): tfCore.Tensor3D {
    this.assertUsable();
    const tf = this.tf;
    const [batch, tokens] = this.validateInput(inputIds, cache);
    return tf.tidy(() => {
      const ids = Array.isArray(inputIds) ? tf.tensor2d(inputIds.flat(), [batch, tokens], 'int32') : inputIds;
      const { final } = this.forwardFlat(ids, cache, { differentiable: false, ...options }, false);
      return tf.reshape(final, [batch, options.lastPositionOnly === true ? 1 : tokens, this.config.hiddenSize]) as tfCore.Tensor3D;
    });
  }

  /** Checks ids, batch and context room; returns [batch, tokens]. */
  private validateInput(inputIds: tfCore.Tensor2D | number[][], cache: KeyValueCache | undefined): [number, number] {
    const [batch, tokens] = Array.isArray(inputIds) ? [inputIds.length, inputIds[0]?.length ?? 0] : inputIds.shape;
    if (batch < 1 || tokens < 1) throw new InvalidArgumentError({ argument: 'inputIds', message: 'expected at least one sequence of at least one token' });
    if (Array.isArray(inputIds) && inputIds.some((row) => row.length !== tokens)) {
      throw new InvalidArgumentError({ argument: 'inputIds', message: 'every sequence of a batch must have the same length' });
    }
    const offset = cache?.length ?? 0;
    if (offset + tokens > this.config.maximumContext) {
      throw new InvalidArgumentError({
        argument: 'inputIds',
        message: `${offset + tokens} positions exceed maximumContext ${this.config.maximumContext}`,
      });
    }
    if (cache !== undefined && cache.batchSize !== batch) {
      throw new InvalidArgumentError({ argument: 'cache', message: `cache holds ${cache.batchSize} sequences, input has ${batch}` });
    }
    if (Array.isArray(inputIds)) {
      for (const row of inputIds) {
        for (const id of row) {
          if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabularySize) {
            throw new InvalidArgumentError({ argument: 'inputIds', message: `token id ${id} is outside [0, ${this.config.vocabularySize})` });
          }
        }
      }
    }
    return [batch, tokens];
  }

  /**
   * The forward pass on an int32 [batch, tokens] tensor, returning [batch * tokens, vocabulary]
   * logits. Meant for loss functions inside `tf.tidy`/gradient scopes; ids are not range-checked.
   */
  logitsFlat(inputIds: tfCore.Tensor2D, cache?: KeyValueCache, options: LogitsOptions = {}): Tensor2D {
    return this.forwardFlat(inputIds, cache, options, true).logits;
  }

  /**
   * The forward pass: the final (normed) hidden states [batch * positions, hiddenSize] and, with
   * `head`, the logits of {@link LlamaModel.logitsFlat}.
   */
  private forwardFlat(inputIds: tfCore.Tensor2D, cache: KeyValueCache | undefined, options: LogitsOptions, head: true): { final: Tensor2D; logits: Tensor2D };
  private forwardFlat(inputIds: tfCore.Tensor2D, cache: KeyValueCache | undefined, options: LogitsOptions, head: false): { final: Tensor2D; logits?: undefined };
  private forwardFlat(inputIds: tfCore.Tensor2D, cache: KeyValueCache | undefined, options: LogitsOptions, head: boolean): { final: Tensor2D; logits?: Tensor2D } {
    this.assertUsable();
    const tf = this.tf;
    const config = this.config;
    const [batch, tokens] = inputIds.shape;
    const offset = cache?.length ?? 0;
    const differentiable = options.differentiable ?? true;
    if (head && cache !== undefined && tokens === 1 && !differentiable && this.linearHook === undefined && computesOnHost(tf.getBackend())) {
      // Incremental decoding: the fused step (projections as kernels, the rest in JavaScript, the cache written in place).
      return decodeStep(
        { tf, config, rotary: this.rotary, weight: (name) => this.weights.get(name), head: () => this.outputHead() },
        Int32Array.from(inputIds.dataSync() as Int32Array),
        cache,
      );
    }
    const groups = config.attentionHeads / config.keyValueHeads;
    const pass: ForwardPass = {
      tf,
      config,
      batch,
      tokens,
      offset,
      differentiable,
      cache,
      rotary: this.rotary,
      // codestack's attention kernel applies causality itself; only the tensor path reads a mask.
      mask: tokens > 1 && !causalAttentionRuns(tf) ? causalMask(tf, groups, tokens, offset, offset + tokens) : undefined,
      project: (input, layer, projection) => this.project(input, layer, projection, differentiable),
      normalize: (input, weightName) => rmsNorm(tf, input, this.getWeight(weightName), config.normEpsilon, differentiable),
    };

    let hidden = embeddingLookup(tf, this.getWeight('model.embed_tokens.weight') as unknown as Tensor2D, tf.reshape(inputIds, [-1]) as tfCore.Tensor1D, differentiable);
    for (let layer = 0; layer < config.layers; layer++) {
      if (differentiable) hidden = decoderLayer(pass, layer, hidden);
      else {
        // Inference frees each layer's intermediates before the next layer: a 1 000-token prompt
        // through 12 Qwen2.5-0.5B layers otherwise holds about 1.6 GB of activations at once.
        const input = hidden;
        hidden = tf.tidy(() => decoderLayer(pass, layer, input));
        if (layer > 0) input.dispose();
      }
    }
    if (cache !== undefined) cache.advance(tokens);
    if (options.lastPositionOnly === true && tokens > 1) {
      hidden = tf.reshape(tf.slice(tf.reshape(hidden, [batch, tokens, config.hiddenSize]), [0, tokens - 1, 0], [batch, 1, config.hiddenSize]), [batch, config.hiddenSize]);
    }
    const final = pass.normalize(hidden, 'model.norm.weight');
    if (!head) return { final };
    // Training through a tied head multiplies by the embedding read transposed: no transpose kernel either way.
    if (differentiable && this.config.tiedEmbeddings) return { final, logits: matMul2d(tf, final, this.getWeight('model.embed_tokens.weight') as unknown as Tensor2D, true, true) };
    return { final, logits: matMul2d(tf, final, this.outputHead(), differentiable) };
  }

  /** The output head for inference in memory layout, [hidden, vocabulary] (the transposed embedding, kept, when tied). */
  private outputHead(): Tensor2D {
    if (!this.config.tiedEmbeddings) return this.getWeight('lm_head.weight') as unknown as Tensor2D;
    return this.inferenceHead();
  }

  /** Releases every weight. The model cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const variable of this.weights.values()) variable.dispose();
    this.tiedHead?.tensor.dispose();
  }

  private assertUsable(): void {
    if (this.disposed) throw new InvalidArgumentError({ argument: 'model', message: 'the model was disposed' });
    this.runtime.assertActive();
  }

  /** The transposed tied embedding for inference, re-made when an optimizer assigned the embedding. */
  private inferenceHead(): Tensor2D {
    const embedding = this.getWeight('model.embed_tokens.weight');
    const cached = this.tiedHead;
    if (cached !== undefined && cached.source === embedding.dataId) return cached.tensor;
    cached?.tensor.dispose();
    const tensor = this.tf.keep(this.tf.transpose(embedding) as Tensor2D);
    this.tiedHead = { source: embedding.dataId, tensor };
    return tensor;
  }

  private project(input: Tensor2D, layer: number, projection: ProjectionName, differentiable: boolean): Tensor2D {
    const weightName = LlamaModel.projectionWeightName(layer, projection);
    const weight = this.getWeight(weightName);
    const product = matMul2d(this.tf, input, weight as unknown as Tensor2D, differentiable);
    const bias = this.weights.get(`${weightName.slice(0, -'weight'.length)}bias`);
    const output = bias === undefined ? product : (this.tf.add(product, bias) as Tensor2D);
    return this.linearHook === undefined ? output : this.linearHook({ layer, projection, weightName, input, weight, output });
  }
}
