import type * as tfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@codestack/core';
import type { Runtime, TensorFlow } from './runtime.js';
import { headSize, validateModelConfig, weightShapes, type ModelConfig } from './model-config.js';
import { batchedMatMul, embeddingLookup, matMul2d, rotaryEmbedding } from './fast-ops.js';
import { SeededRandom } from './seeded-random.js';
import { KeyValueCache } from './key-value-cache.js';

type Tensor = tfCore.Tensor;
type Tensor2D = tfCore.Tensor2D;
type Variable = tfCore.Variable;

/** The seven linear projections of a decoder layer, by their Hugging Face module names. */
export type ProjectionName = 'q_proj' | 'k_proj' | 'v_proj' | 'o_proj' | 'gate_proj' | 'up_proj' | 'down_proj';

/** The projections in Hugging Face order. */
export const projectionNames: readonly ProjectionName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/** What a {@link LinearHook} sees for one projection call. */
export interface LinearHookContext {
  /** The decoder layer index. */
  layer: number;
  /** Which projection. */
  projection: ProjectionName;
  /** The Hugging Face weight name, e.g. `model.layers.3.self_attn.q_proj.weight`. */
  weightName: string;
  /** The input rows, shape [tokens, in]. */
  input: Tensor2D;
  /** The base weight in memory layout, shape [in, out] (the transpose of the Hugging Face [out, in]). */
  weight: Variable;
  /** The base output `input @ weight`, shape [tokens, out]. */
  output: Tensor2D;
}

/**
 * Replaces or wraps a projection's result (LoRA adds `input @ A @ B`, IA3 scales the output).
 * Called inside the forward pass (and inside gradient computation), for every layer and projection.
 * Return `context.output` to leave a projection unchanged. Tensors it creates are managed by the
 * surrounding `tf.tidy`/gradient scope.
 */
export type LinearHook = (context: LinearHookContext) => Tensor2D;

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
 * on a {@link Runtime}. Weights are tfjs variables keyed by their Hugging Face names. Linear
 * weights are kept in memory as [in, out] (the transpose of Hugging Face's [out, in]) so that
 * every matMul, forward and backward, runs without tfjs's slow transposed kernels.
 */
export class LlamaModel {
  /** The validated configuration. */
  readonly config: Readonly<ModelConfig>;
  /** The runtime the weights live on. */
  readonly runtime: Runtime;
  /** Every weight by Hugging Face name, in memory layout (see {@link LlamaModel.memoryLayout}). */
  readonly weights: ReadonlyMap<string, Variable>;
  /** Optional hook around every projection (see {@link LinearHook}); `undefined` for none. */
  linearHook: LinearHook | undefined;

  private readonly tf: TensorFlow;
  private readonly rope: RopeTables;
  private disposed = false;
  /** The tied head, transposed once for inference; refreshed when the embedding is reassigned. */
  private tiedHead: { source: object; tensor: Tensor2D } | undefined;

  private constructor(runtime: Runtime, config: Readonly<ModelConfig>, weights: Map<string, Variable>) {
    this.runtime = runtime;
    this.tf = runtime.tf;
    this.config = config;
    this.weights = weights;
    this.rope = createRopeTables(config);
    if (config.tiedEmbeddings) {
      const embedding = this.getWeight('model.embed_tokens.weight');
      this.tiedHead = { source: embedding.dataId, tensor: this.tf.transpose(embedding) as Tensor2D };
    }
  }

  /** Creates a model with freshly initialised weights (deterministic for a given seed). */
  static create(runtime: Runtime, config: ModelConfig, options: CreateModelOptions = {}): LlamaModel {
    const valid = validateModelConfig(config);
    runtime.assertActive();
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
   * present with the expected shape; throws {@link InvalidArgumentError} otherwise.
   */
  static fromWeights(runtime: Runtime, config: ModelConfig, weights: ReadonlyMap<string, WeightData>): LlamaModel {
    const valid = validateModelConfig(config);
    runtime.assertActive();
    const tf = runtime.tf;
    const variables = new Map<string, Variable>();
    for (const [name, shape] of weightShapes(valid)) {
      const weight = weights.get(name);
      if (weight === undefined) throw new InvalidArgumentError({ argument: 'weights', message: `missing weight ${name}` });
      if (weight.shape.length !== shape.length || weight.shape.some((size, index) => size !== shape[index])) {
        throw new InvalidArgumentError({
          argument: 'weights',
          message: `${name} has shape [${weight.shape.join(', ')}], expected [${shape.join(', ')}]`,
        });
      }
      const value = tf.tidy(() => {
        const tensor = tf.tensor(weight.data, shape, 'float32');
        return isLinearWeight(name) ? tf.transpose(tensor) : tensor;
      });
      variables.set(name, tf.variable(value, true));
      value.dispose();
    }
    return new LlamaModel(runtime, valid, variables);
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
    const group = projection === 'gate_proj' || projection === 'up_proj' || projection === 'down_proj' ? 'mlp' : 'self_attn';
    return `model.layers.${layer}.${group}.${projection}.weight`;
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
    return new KeyValueCache(this.config.layers, batchSize);
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
    return tf.tidy(() => {
      const ids = Array.isArray(inputIds) ? tf.tensor2d(inputIds.flat(), [batch, tokens], 'int32') : inputIds;
      const flat = this.logitsFlat(ids, cache, { differentiable: false, ...options });
      return tf.reshape(flat, [batch, options.lastPositionOnly === true ? 1 : tokens, this.config.vocabularySize]) as tfCore.Tensor3D;
    });
  }

  /**
   * The forward pass on an int32 [batch, tokens] tensor, returning [batch * tokens, vocabulary]
   * logits. Meant for loss functions inside `tf.tidy`/gradient scopes; ids are not range-checked.
   */
  logitsFlat(inputIds: tfCore.Tensor2D, cache?: KeyValueCache, options: LogitsOptions = {}): Tensor2D {
    this.assertUsable();
    const tf = this.tf;
    const config = this.config;
    const [batch, tokens] = inputIds.shape;
    const offset = cache?.length ?? 0;
    const head = headSize(config);
    const groups = config.attentionHeads / config.keyValueHeads;
    const keyValueHeads = config.keyValueHeads;
    const rope = this.rope;
    const differentiable = options.differentiable ?? true;
    const rotate = (input: Tensor2D, scaleBy = 1): Tensor2D =>
      rotaryEmbedding(tf, input, { batch, tokens, offset, head, cos: rope.cos, sin: rope.sin, scale: scaleBy }, differentiable);
    // With one token per sequence the head transposes only move size-1 axes: a reshape does it.
    const permute = (input: Tensor, shape: number[], permutation: number[]): Tensor =>
      tokens === 1 ? tf.reshape(input, permutation.map((axis) => shape[axis] as number)) : tf.transpose(tf.reshape(input, shape), permutation);
    const totalKeys = offset + tokens;
    const mask = tokens > 1 ? causalMask(tf, groups, tokens, offset, totalKeys) : undefined;
    const scale = 1 / Math.sqrt(head);

    let hidden = embeddingLookup(tf, this.getWeight('model.embed_tokens.weight') as unknown as Tensor2D, tf.reshape(inputIds, [-1]) as tfCore.Tensor1D, differentiable);
    for (let layer = 0; layer < config.layers; layer++) {
      const prefix = `model.layers.${layer}`;
      const normed = this.rmsNorm(hidden, `${prefix}.input_layernorm.weight`, differentiable);
      const query = this.project(normed, layer, 'q_proj', differentiable);
      const key = this.project(normed, layer, 'k_proj', differentiable);
      const value = this.project(normed, layer, 'v_proj', differentiable);
      // rotary embedding on the [tokens, heads * head] layout, then
      // query: [batch, tokens, kvHeads, groups, head] -> [batch, kvHeads, groups, tokens, head]
      const rotatedQuery = permute(rotate(query, scale), [batch, tokens, keyValueHeads, groups, head], [0, 2, 3, 1, 4]);
      // keys are kept transposed, [batch, kvHeads, head, tokens], so attention needs no transposed matMul
      let keyTransposed4 = permute(rotate(key), [batch, tokens, keyValueHeads, head], [0, 2, 3, 1]) as tfCore.Tensor4D;
      let value4 = permute(value, [batch, tokens, keyValueHeads, head], [0, 2, 1, 3]) as tfCore.Tensor4D;
      if (cache !== undefined) [keyTransposed4, value4] = cache.append(tf, layer, keyTransposed4, value4);
      const slices = batch * keyValueHeads;
      const queries = tf.reshape(rotatedQuery, [slices, groups * tokens, head]) as tfCore.Tensor3D;
      const keysTransposed = tf.reshape(keyTransposed4, [slices, head, totalKeys]) as tfCore.Tensor3D;
      let scores = batchedMatMul(tf, queries, keysTransposed, differentiable);
      if (mask !== undefined) scores = tf.add(scores, mask);
      const probabilities = tf.softmax(scores) as tfCore.Tensor3D;
      const context = batchedMatMul(tf, probabilities, tf.reshape(value4, [slices, totalKeys, head]) as tfCore.Tensor3D, differentiable);
      const merged = tf.reshape(permute(context, [batch, keyValueHeads, groups, tokens, head], [0, 3, 1, 2, 4]), [batch * tokens, config.hiddenSize]) as Tensor2D;
      hidden = tf.add(hidden, this.project(merged, layer, 'o_proj', differentiable));
      const normedAgain = this.rmsNorm(hidden, `${prefix}.post_attention_layernorm.weight`, differentiable);
      const gate = this.project(normedAgain, layer, 'gate_proj', differentiable);
      const up = this.project(normedAgain, layer, 'up_proj', differentiable);
      const activated = differentiable || gate.shape[0] > smallRows ? (tf.mul(tf.mul(gate, tf.sigmoid(gate)), up) as Tensor2D) : swiGlu(tf, gate, up);
      hidden = tf.add(hidden, this.project(activated, layer, 'down_proj', differentiable));
    }
    if (cache !== undefined) cache.advance(tokens);
    if (options.lastPositionOnly === true && tokens > 1) {
      hidden = tf.reshape(tf.slice(tf.reshape(hidden, [batch, tokens, config.hiddenSize]), [0, tokens - 1, 0], [batch, 1, config.hiddenSize]), [batch, config.hiddenSize]);
    }
    const final = this.rmsNorm(hidden, 'model.norm.weight', differentiable);
    const head2d = config.tiedEmbeddings
      ? differentiable
        ? (tf.transpose(this.getWeight('model.embed_tokens.weight')) as Tensor2D)
        : this.inferenceHead()
      : (this.getWeight('lm_head.weight') as unknown as Tensor2D);
    return matMul2d(tf, final, head2d, differentiable);
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

  private rmsNorm(input: Tensor2D, weightName: string, differentiable = true): Tensor2D {
    const tf = this.tf;
    if (!differentiable && input.shape[0] <= smallRows) {
      // Incremental decoding: a few rows; one pass in JavaScript beats six kernel dispatches.
      const [rows, width] = input.shape;
      const values = input.dataSync() as Float32Array;
      const weight = this.getWeight(weightName).dataSync() as Float32Array;
      const output = new Float32Array(values.length);
      for (let row = 0; row < rows; row++) {
        let sum = 0;
        for (let column = 0; column < width; column++) sum += (values[row * width + column] as number) ** 2;
        const factor = 1 / Math.sqrt(sum / width + this.config.normEpsilon);
        for (let column = 0; column < width; column++) {
          output[row * width + column] = (values[row * width + column] as number) * factor * (weight[column] as number);
        }
      }
      return tf.tensor2d(output, [rows, width]);
    }
    const meanSquare = tf.mean(tf.square(input), -1, true);
    return tf.mul(tf.mul(input, tf.rsqrt(tf.add(meanSquare, this.config.normEpsilon))), this.getWeight(weightName)) as Tensor2D;
  }

  private project(input: Tensor2D, layer: number, projection: ProjectionName, differentiable: boolean): Tensor2D {
    const weightName = LlamaModel.projectionWeightName(layer, projection);
    const weight = this.getWeight(weightName);
    const output = matMul2d(this.tf, input, weight as unknown as Tensor2D, differentiable);
    return this.linearHook === undefined ? output : this.linearHook({ layer, projection, weightName, input, weight, output });
  }
}

interface RopeTables {
  /** cos(position * theta^(-2i/head)), [maximumContext, head / 2]. */
  cos: Float32Array;
  /** sin of the same angles. */
  sin: Float32Array;
}

function createRopeTables(config: ModelConfig): RopeTables {
  const half = headSize(config) / 2;
  const cos = new Float32Array(config.maximumContext * half);
  const sin = new Float32Array(config.maximumContext * half);
  for (let position = 0; position < config.maximumContext; position++) {
    for (let index = 0; index < half; index++) {
      const angle = position * Math.pow(config.ropeTheta, (-2 * index) / headSize(config));
      cos[position * half + index] = Math.cos(angle);
      sin[position * half + index] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** Row counts up to which inference does element-wise work in JavaScript (incremental decoding). */
const smallRows = 8;

/** `silu(gate) * up` in JavaScript, for a few rows without gradients. */
function swiGlu(tf: TensorFlow, gate: Tensor2D, up: Tensor2D): Tensor2D {
  const gates = gate.dataSync() as Float32Array;
  const ups = up.dataSync() as Float32Array;
  const output = new Float32Array(gates.length);
  for (let index = 0; index < gates.length; index++) {
    const value = gates[index] as number;
    output[index] = (value / (1 + Math.exp(-value))) * (ups[index] as number);
  }
  return tf.tensor2d(output, gate.shape);
}

/** Additive causal mask for grouped queries: rows are (group, token), columns are key positions. */
function causalMask(tf: TensorFlow, groups: number, tokens: number, offset: number, totalKeys: number): Tensor2D {
  const values = new Float32Array(groups * tokens * totalKeys);
  for (let group = 0; group < groups; group++) {
    for (let token = 0; token < tokens; token++) {
      const row = (group * tokens + token) * totalKeys;
      for (let key = offset + token + 1; key < totalKeys; key++) values[row + key] = -1e9;
    }
  }
  return tf.tensor2d(values, [groups * tokens, totalKeys]);
}
