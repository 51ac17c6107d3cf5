import { InvalidArgumentError } from '@codestack/core';

/**
 * A Llama-style decoder configuration. `toHuggingFaceConfig`/`fromHuggingFaceConfig` map it to
 * and from the `config.json` keys Hugging Face uses.
 */
export interface ModelConfig {
  /** Number of token ids. */
  vocabularySize: number;
  /** Width of the residual stream. */
  hiddenSize: number;
  /** Number of decoder layers. */
  layers: number;
  /** Number of query heads. */
  attentionHeads: number;
  /** Number of key/value heads (grouped-query attention); divides `attentionHeads`. */
  keyValueHeads: number;
  /** Inner width of the SwiGLU feed-forward. */
  feedForwardSize: number;
  /** Longest sequence the model accepts. */
  maximumContext: number;
  /** Base of the rotary position embedding frequencies. */
  ropeTheta: number;
  /** Epsilon of RMSNorm. */
  normEpsilon: number;
  /** Whether the output head reuses the token embedding (no `lm_head.weight`). */
  tiedEmbeddings: boolean;
  /**
   * The Hugging Face architecture (`model_type`): `llama` (the default when absent), `qwen2` or
   * `qwen3`. It only names the family; what the forward pass does is spelled out by the fields below.
   */
  architecture?: ModelArchitecture;
  /** The size of one attention head when it is not `hiddenSize / attentionHeads` (Qwen3's `head_dim`). */
  headSize?: number;
  /** Whether the query, key and value projections have a bias (Qwen2, Llama's `attention_bias`). Default false. */
  queryKeyValueBias?: boolean;
  /** Whether the attention output projection has a bias (Llama's and Qwen3's `attention_bias`). Default false. */
  attentionOutputBias?: boolean;
  /** Whether the three feed-forward projections have a bias (Llama's `mlp_bias`). Default false. */
  feedForwardBias?: boolean;
  /** Whether queries and keys get an RMSNorm per head before the rotary embedding (Qwen3's `q_norm`/`k_norm`). Default false. */
  queryKeyNorm?: boolean;
  /** How rotary frequencies are rescaled for long contexts (`rope_scaling`); absent for none. */
  ropeScaling?: RopeScaling;
}

/** The architectures (`model_type` values of `config.json`) this runtime runs. */
export type ModelArchitecture = 'llama' | 'qwen2' | 'qwen3';

/**
 * Rescaled rotary frequencies (`rope_scaling` of `config.json`). `linear` divides every frequency
 * by `factor`; `llama3` (Llama 3.1/3.2) divides the low frequencies by `factor`, keeps the high ones,
 * and interpolates between them.
 */
export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFrequencyFactor: number; highFrequencyFactor: number; originalMaximumContext: number };

/**
 * The largest value each size of a {@link ModelConfig} may take. Checked before anything is
 * allocated, so a damaged or hostile `config.json` cannot make a load allocate gigabytes or run
 * for minutes. Real models stay well inside them (vocabularies go to about 262 000 tokens).
 */
export const modelConfigLimits = {
  /** At most 1 << 20 token ids. */
  vocabularySize: 1 << 20,
  /** At most 65 536. */
  hiddenSize: 65_536,
  /** At most 256 decoder layers. */
  layers: 256,
  /** At most 1 024 query heads. */
  attentionHeads: 1_024,
  /** At most 1 024 key/value heads. */
  keyValueHeads: 1_024,
  /** At most 1 << 18. */
  feedForwardSize: 1 << 18,
  /** At most 1 << 20 positions. */
  maximumContext: 1 << 20,
  /** The largest RMSNorm epsilon (the smallest is anything above zero). */
  normEpsilon: 0.1,
  /** At most 4 096 values per attention head. */
  headSize: 4_096,
} as const;

const positiveIntegerKeys = [
  'vocabularySize',
  'hiddenSize',
  'layers',
  'attentionHeads',
  'keyValueHeads',
  'feedForwardSize',
  'maximumContext',
] as const;

const architectures: readonly ModelArchitecture[] = ['llama', 'qwen2', 'qwen3'];
const optionalBooleanKeys = ['queryKeyValueBias', 'attentionOutputBias', 'feedForwardBias', 'queryKeyNorm'] as const;

function positiveFinite(value: unknown, argument: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError({ argument, message: `expected a positive finite number, got ${JSON.stringify(value)}` });
  }
}

function validateRopeScaling(scaling: RopeScaling): void {
  if (typeof scaling !== 'object' || scaling === null) throw new InvalidArgumentError({ argument: 'config.ropeScaling', message: 'expected an object' });
  if (scaling.type !== 'linear' && scaling.type !== 'llama3') {
    throw new InvalidArgumentError({ argument: 'config.ropeScaling.type', message: `expected linear or llama3, got ${JSON.stringify((scaling as { type: unknown }).type)}` });
  }
  positiveFinite(scaling.factor, 'config.ropeScaling.factor');
  if (scaling.type === 'llama3') {
    positiveFinite(scaling.lowFrequencyFactor, 'config.ropeScaling.lowFrequencyFactor');
    positiveFinite(scaling.highFrequencyFactor, 'config.ropeScaling.highFrequencyFactor');
    if (!(scaling.highFrequencyFactor > scaling.lowFrequencyFactor)) {
      throw new InvalidArgumentError({ argument: 'config.ropeScaling.highFrequencyFactor', message: 'must be larger than lowFrequencyFactor' });
    }
    const original = scaling.originalMaximumContext;
    if (typeof original !== 'number' || !Number.isInteger(original) || original < 1 || original > modelConfigLimits.maximumContext) {
      throw new InvalidArgumentError({ argument: 'config.ropeScaling.originalMaximumContext', message: `expected an integer in [1, ${modelConfigLimits.maximumContext}], got ${JSON.stringify(original)}` });
    }
  }
}

/** The options each architecture's `config.json` can express, so that a save reads back the same. */
function validateArchitectureOptions(config: ModelConfig): void {
  const architecture = config.architecture ?? 'llama';
  const flag = (value: boolean | undefined): boolean => value === true;
  const mismatch = (field: string, message: string): never => {
    throw new InvalidArgumentError({ argument: `config.${field}`, message: `${message} in a ${architecture} model` });
  };
  if (architecture === 'qwen2') {
    if (!flag(config.queryKeyValueBias)) mismatch('queryKeyValueBias', 'must be true');
    if (flag(config.attentionOutputBias)) mismatch('attentionOutputBias', 'must be false');
  } else if (flag(config.queryKeyValueBias) !== flag(config.attentionOutputBias)) {
    mismatch('attentionOutputBias', 'must equal queryKeyValueBias (one attention_bias key)');
  }
  if (architecture !== 'llama' && flag(config.feedForwardBias)) mismatch('feedForwardBias', 'must be false');
  if (flag(config.queryKeyNorm) !== (architecture === 'qwen3')) mismatch('queryKeyNorm', architecture === 'qwen3' ? 'must be true' : 'must be false');
}

/**
 * Checks a configuration and returns a frozen copy: every size a positive integer within
 * {@link modelConfigLimits}, heads dividing the hidden size into an even head size (or an even
 * explicit `headSize`), key/value
 * heads dividing the query heads, `ropeTheta` finite and positive, `normEpsilon` in (0, 0.1],
 * a known `architecture`, boolean options and a well-formed `ropeScaling`.
 * Throws {@link InvalidArgumentError} naming the first bad field (`config.<field>`).
 */
export function validateModelConfig(config: ModelConfig): Readonly<ModelConfig> {
  if (typeof config !== 'object' || config === null) {
    throw new InvalidArgumentError({ argument: 'config', message: 'expected an object' });
  }
  for (const key of positiveIntegerKeys) {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > modelConfigLimits[key]) {
      throw new InvalidArgumentError({ argument: `config.${key}`, message: `expected an integer in [1, ${modelConfigLimits[key]}], got ${JSON.stringify(value)}` });
    }
  }
  if (config.headSize !== undefined) {
    const value = config.headSize;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 2 || value > modelConfigLimits.headSize || value % 2 !== 0) {
      throw new InvalidArgumentError({ argument: 'config.headSize', message: `expected an even integer in [2, ${modelConfigLimits.headSize}], got ${JSON.stringify(value)}` });
    }
  } else {
    if (config.hiddenSize % config.attentionHeads !== 0) {
      throw new InvalidArgumentError({
        argument: 'config.attentionHeads',
        message: `hiddenSize ${config.hiddenSize} is not divisible by attentionHeads ${config.attentionHeads}`,
      });
    }
    if ((config.hiddenSize / config.attentionHeads) % 2 !== 0) {
      throw new InvalidArgumentError({ argument: 'config.attentionHeads', message: 'the head size must be even for rotary embeddings' });
    }
  }
  if (config.attentionHeads % config.keyValueHeads !== 0) {
    throw new InvalidArgumentError({
      argument: 'config.keyValueHeads',
      message: `attentionHeads ${config.attentionHeads} is not divisible by keyValueHeads ${config.keyValueHeads}`,
    });
  }
  if (typeof config.ropeTheta !== 'number' || !Number.isFinite(config.ropeTheta) || config.ropeTheta <= 0) {
    throw new InvalidArgumentError({ argument: 'config.ropeTheta', message: `expected a positive finite number, got ${JSON.stringify(config.ropeTheta)}` });
  }
  if (typeof config.normEpsilon !== 'number' || !(config.normEpsilon > 0 && config.normEpsilon <= modelConfigLimits.normEpsilon)) {
    throw new InvalidArgumentError({ argument: 'config.normEpsilon', message: `expected a number in (0, ${modelConfigLimits.normEpsilon}], got ${JSON.stringify(config.normEpsilon)}` });
  }
  if (typeof config.tiedEmbeddings !== 'boolean') {
    throw new InvalidArgumentError({ argument: 'config.tiedEmbeddings', message: 'expected a boolean' });
  }
  if (config.architecture !== undefined && !(architectures as readonly unknown[]).includes(config.architecture)) {
    throw new InvalidArgumentError({ argument: 'config.architecture', message: `expected one of ${architectures.join(', ')}, got ${JSON.stringify(config.architecture)}` });
  }
  for (const key of optionalBooleanKeys) {
    if (config[key] !== undefined && typeof config[key] !== 'boolean') throw new InvalidArgumentError({ argument: `config.${key}`, message: 'expected a boolean' });
  }
  if (config.ropeScaling !== undefined) validateRopeScaling(config.ropeScaling);
  validateArchitectureOptions(config);
  const copy = { ...config };
  if (config.ropeScaling !== undefined) copy.ropeScaling = Object.freeze({ ...config.ropeScaling });
  return Object.freeze(copy);
}

/** The size of one attention head: `config.headSize` when given, `hiddenSize / attentionHeads` otherwise. */
export function headSize(config: ModelConfig): number {
  return config.headSize ?? config.hiddenSize / config.attentionHeads;
}

/**
 * Every weight of the model by its Hugging Face name, with its Hugging Face shape ([out, in] for
 * linear layers): biases and the per-head query/key norms appear when the configuration has them.
 */
export function weightShapes(config: ModelConfig): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const head = headSize(config);
  const queryWidth = config.attentionHeads * head;
  const keyValueWidth = config.keyValueHeads * head;
  shapes.set('model.embed_tokens.weight', [config.vocabularySize, config.hiddenSize]);
  for (let layer = 0; layer < config.layers; layer++) {
    const prefix = `model.layers.${layer}`;
    shapes.set(`${prefix}.input_layernorm.weight`, [config.hiddenSize]);
    shapes.set(`${prefix}.self_attn.q_proj.weight`, [queryWidth, config.hiddenSize]);
    if (config.queryKeyValueBias === true) shapes.set(`${prefix}.self_attn.q_proj.bias`, [queryWidth]);
    shapes.set(`${prefix}.self_attn.k_proj.weight`, [keyValueWidth, config.hiddenSize]);
    if (config.queryKeyValueBias === true) shapes.set(`${prefix}.self_attn.k_proj.bias`, [keyValueWidth]);
    shapes.set(`${prefix}.self_attn.v_proj.weight`, [keyValueWidth, config.hiddenSize]);
    if (config.queryKeyValueBias === true) shapes.set(`${prefix}.self_attn.v_proj.bias`, [keyValueWidth]);
    shapes.set(`${prefix}.self_attn.o_proj.weight`, [config.hiddenSize, queryWidth]);
    if (config.attentionOutputBias === true) shapes.set(`${prefix}.self_attn.o_proj.bias`, [config.hiddenSize]);
    if (config.queryKeyNorm === true) {
      shapes.set(`${prefix}.self_attn.q_norm.weight`, [head]);
      shapes.set(`${prefix}.self_attn.k_norm.weight`, [head]);
    }
    shapes.set(`${prefix}.post_attention_layernorm.weight`, [config.hiddenSize]);
    shapes.set(`${prefix}.mlp.gate_proj.weight`, [config.feedForwardSize, config.hiddenSize]);
    if (config.feedForwardBias === true) shapes.set(`${prefix}.mlp.gate_proj.bias`, [config.feedForwardSize]);
    shapes.set(`${prefix}.mlp.up_proj.weight`, [config.feedForwardSize, config.hiddenSize]);
    if (config.feedForwardBias === true) shapes.set(`${prefix}.mlp.up_proj.bias`, [config.feedForwardSize]);
    shapes.set(`${prefix}.mlp.down_proj.weight`, [config.hiddenSize, config.feedForwardSize]);
    if (config.feedForwardBias === true) shapes.set(`${prefix}.mlp.down_proj.bias`, [config.hiddenSize]);
  }
  shapes.set('model.norm.weight', [config.hiddenSize]);
  if (!config.tiedEmbeddings) shapes.set('lm_head.weight', [config.vocabularySize, config.hiddenSize]);
  return shapes;
}

/**
 * The number of parameters of a model with this configuration, by arithmetic (nothing is
 * allocated, so it is safe to call on a configuration before deciding to load it).
 */
export function parameterCount(config: ModelConfig): number {
  const head = headSize(config);
  const queryWidth = config.attentionHeads * head;
  const keyValueWidth = config.keyValueHeads * head;
  const perLayer =
    2 * config.hiddenSize + // the two norms
    2 * queryWidth * config.hiddenSize + // q and o
    2 * keyValueWidth * config.hiddenSize + // k and v
    3 * config.feedForwardSize * config.hiddenSize + // gate, up, down
    (config.queryKeyValueBias === true ? queryWidth + 2 * keyValueWidth : 0) +
    (config.attentionOutputBias === true ? config.hiddenSize : 0) +
    (config.queryKeyNorm === true ? 2 * head : 0) +
    (config.feedForwardBias === true ? 2 * config.feedForwardSize + config.hiddenSize : 0);
  const embeddings = config.vocabularySize * config.hiddenSize * (config.tiedEmbeddings ? 1 : 2);
  return embeddings + config.layers * perLayer + config.hiddenSize;
}

const classNames: Record<ModelArchitecture, string> = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM' };

/**
 * The configuration as a Hugging Face `config.json` object (`LlamaConfig`, `Qwen2Config` or
 * `Qwen3Config` by `architecture`). A plain Llama configuration gives exactly the keys it always
 * did; the options add their Hugging Face keys (`head_dim`, `attention_bias`, `mlp_bias`,
 * `rope_scaling`).
 */
export function toHuggingFaceConfig(config: ModelConfig): Record<string, unknown> {
  const architecture = config.architecture ?? 'llama';
  const json: Record<string, unknown> = {
    architectures: [classNames[architecture]],
    model_type: architecture,
    vocab_size: config.vocabularySize,
    hidden_size: config.hiddenSize,
    num_hidden_layers: config.layers,
    num_attention_heads: config.attentionHeads,
    num_key_value_heads: config.keyValueHeads,
    intermediate_size: config.feedForwardSize,
    max_position_embeddings: config.maximumContext,
    rope_theta: config.ropeTheta,
    rms_norm_eps: config.normEpsilon,
    tie_word_embeddings: config.tiedEmbeddings,
    hidden_act: 'silu',
    torch_dtype: 'float32',
  };
  if (config.headSize !== undefined || architecture === 'qwen3') json.head_dim = headSize(config);
  if (architecture !== 'qwen2' && (config.attentionOutputBias === true || config.queryKeyValueBias === true)) json.attention_bias = true;
  if (architecture === 'qwen3' && json.attention_bias === undefined) json.attention_bias = false;
  if (config.feedForwardBias === true) json.mlp_bias = true;
  if (architecture !== 'llama') json.use_sliding_window = false;
  const scaling = config.ropeScaling;
  if (scaling?.type === 'linear') json.rope_scaling = { rope_type: 'linear', factor: scaling.factor };
  if (scaling?.type === 'llama3') {
    json.rope_scaling = {
      rope_type: 'llama3',
      factor: scaling.factor,
      low_freq_factor: scaling.lowFrequencyFactor,
      high_freq_factor: scaling.highFrequencyFactor,
      original_max_position_embeddings: scaling.originalMaximumContext,
    };
  }
  return json;
}

function refuse(field: string, message: string): never {
  throw new InvalidArgumentError({ argument: `config.${field}`, message });
}

function optionalBoolean(json: Record<string, unknown>, key: string): boolean {
  const value = json[key];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') refuse(key, `expected a boolean, got ${JSON.stringify(value)}`);
  return value;
}

function readRopeScaling(value: unknown): RopeScaling | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) refuse('rope_scaling', 'expected an object or null');
  const record = value as Record<string, unknown>;
  const type = record.rope_type ?? record.type;
  if (type === 'default') return undefined;
  if (type === 'linear') return { type: 'linear', factor: record.factor as number };
  if (type === 'llama3') {
    return {
      type: 'llama3',
      factor: record.factor as number,
      lowFrequencyFactor: record.low_freq_factor as number,
      highFrequencyFactor: record.high_freq_factor as number,
      originalMaximumContext: record.original_max_position_embeddings as number,
    };
  }
  return refuse('rope_scaling', `rope type ${JSON.stringify(type)} is not supported (only llama3 and linear)`);
}

/**
 * Reads a Hugging Face `config.json` object of a `llama` (also `mistral` without an active
 * sliding window, read as `llama`), `qwen2` or `qwen3` model; validates the result (see
 * {@link validateModelConfig}). Options at their defaults are left out of the result, so a plain
 * Llama configuration reads as it always did. Refuses, with {@link InvalidArgumentError} naming
 * the `config.json` key, what this runtime would silently get wrong: another `model_type`, a
 * `hidden_act` other than `silu`, a `rope_scaling` type other than `llama3`/`linear`, and an
 * active sliding window (`use_sliding_window: true`, or a Mistral `sliding_window` shorter than
 * `max_position_embeddings`).
 */
export function fromHuggingFaceConfig(json: Record<string, unknown>): Readonly<ModelConfig> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InvalidArgumentError({ argument: 'config', message: 'expected a JSON object' });
  const modelType = json.model_type ?? 'llama';
  if (modelType !== 'llama' && modelType !== 'mistral' && modelType !== 'qwen2' && modelType !== 'qwen3') {
    refuse('model_type', `${JSON.stringify(modelType)} is not supported; this runtime runs llama, mistral (without sliding window), qwen2 and qwen3 checkpoints`);
  }
  const architecture: ModelArchitecture = modelType === 'mistral' ? 'llama' : modelType;
  if (json.hidden_act !== undefined && json.hidden_act !== 'silu') refuse('hidden_act', `only silu is supported, got ${JSON.stringify(json.hidden_act)}`);
  if (json.use_sliding_window !== undefined && json.use_sliding_window !== null && json.use_sliding_window !== false) {
    refuse('use_sliding_window', 'sliding-window attention is not supported');
  }
  if (modelType === 'mistral' && json.sliding_window !== undefined && json.sliding_window !== null) {
    const window = json.sliding_window;
    if (typeof window !== 'number' || window < (json.max_position_embeddings as number)) {
      refuse('sliding_window', `a sliding window of ${JSON.stringify(window)} positions is not supported (only null or at least max_position_embeddings)`);
    }
  }
  const hidden = json.hidden_size as number;
  const heads = json.num_attention_heads as number;
  let explicitHead: number | undefined;
  if (json.head_dim !== undefined && json.head_dim !== null) {
    if (typeof json.head_dim !== 'number') refuse('head_dim', `expected a number, got ${JSON.stringify(json.head_dim)}`);
    if (json.head_dim * heads !== hidden) explicitHead = json.head_dim;
  } else if (architecture === 'qwen3') {
    // Qwen3Config's default head_dim is 128, whatever the hidden size.
    if (128 * heads !== hidden) explicitHead = 128;
  }
  const attentionBias = optionalBoolean(json, 'attention_bias');
  const config: ModelConfig = {
    vocabularySize: json.vocab_size as number,
    hiddenSize: hidden,
    layers: json.num_hidden_layers as number,
    attentionHeads: heads,
    keyValueHeads: (json.num_key_value_heads ?? json.num_attention_heads) as number,
    feedForwardSize: json.intermediate_size as number,
    maximumContext: json.max_position_embeddings as number,
    ropeTheta: (json.rope_theta ?? 10000) as number,
    normEpsilon: (json.rms_norm_eps ?? 1e-6) as number,
    tiedEmbeddings: (json.tie_word_embeddings ?? false) as boolean,
  };
  if (architecture !== 'llama') config.architecture = architecture;
  if (explicitHead !== undefined) config.headSize = explicitHead;
  if (architecture === 'qwen2' || attentionBias) config.queryKeyValueBias = true;
  if (architecture !== 'qwen2' && attentionBias) config.attentionOutputBias = true;
  if (architecture === 'llama' && optionalBoolean(json, 'mlp_bias')) config.feedForwardBias = true;
  if (architecture === 'qwen3') config.queryKeyNorm = true;
  const scaling = readRopeScaling(json.rope_scaling);
  if (scaling !== undefined) config.ropeScaling = scaling;
  return validateModelConfig(config);
}
