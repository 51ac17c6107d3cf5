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
}

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

/**
 * Checks a configuration and returns a frozen copy: every size a positive integer within
 * {@link modelConfigLimits}, heads dividing the hidden size into an even head size, key/value
 * heads dividing the query heads, `ropeTheta` finite and positive, `normEpsilon` in (0, 0.1].
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
  if (config.hiddenSize % config.attentionHeads !== 0) {
    throw new InvalidArgumentError({
      argument: 'config.attentionHeads',
      message: `hiddenSize ${config.hiddenSize} is not divisible by attentionHeads ${config.attentionHeads}`,
    });
  }
  if ((config.hiddenSize / config.attentionHeads) % 2 !== 0) {
    throw new InvalidArgumentError({ argument: 'config.attentionHeads', message: 'the head size must be even for rotary embeddings' });
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
  return Object.freeze({ ...config });
}

/** The size of one attention head. */
export function headSize(config: ModelConfig): number {
  return config.hiddenSize / config.attentionHeads;
}

/** Every weight of the model by its Hugging Face name, with its Hugging Face shape ([out, in] for linear layers). */
export function weightShapes(config: ModelConfig): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const head = headSize(config);
  const keyValueWidth = config.keyValueHeads * head;
  shapes.set('model.embed_tokens.weight', [config.vocabularySize, config.hiddenSize]);
  for (let layer = 0; layer < config.layers; layer++) {
    const prefix = `model.layers.${layer}`;
    shapes.set(`${prefix}.input_layernorm.weight`, [config.hiddenSize]);
    shapes.set(`${prefix}.self_attn.q_proj.weight`, [config.hiddenSize, config.hiddenSize]);
    shapes.set(`${prefix}.self_attn.k_proj.weight`, [keyValueWidth, config.hiddenSize]);
    shapes.set(`${prefix}.self_attn.v_proj.weight`, [keyValueWidth, config.hiddenSize]);
    shapes.set(`${prefix}.self_attn.o_proj.weight`, [config.hiddenSize, config.hiddenSize]);
    shapes.set(`${prefix}.post_attention_layernorm.weight`, [config.hiddenSize]);
    shapes.set(`${prefix}.mlp.gate_proj.weight`, [config.feedForwardSize, config.hiddenSize]);
    shapes.set(`${prefix}.mlp.up_proj.weight`, [config.feedForwardSize, config.hiddenSize]);
    shapes.set(`${prefix}.mlp.down_proj.weight`, [config.hiddenSize, config.feedForwardSize]);
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
  const head = config.hiddenSize / config.attentionHeads;
  const keyValueWidth = config.keyValueHeads * head;
  const perLayer =
    2 * config.hiddenSize + // the two norms
    2 * config.hiddenSize * config.hiddenSize + // q and o
    2 * keyValueWidth * config.hiddenSize + // k and v
    3 * config.feedForwardSize * config.hiddenSize; // gate, up, down
  const embeddings = config.vocabularySize * config.hiddenSize * (config.tiedEmbeddings ? 1 : 2);
  return embeddings + config.layers * perLayer + config.hiddenSize;
}

/** The configuration as a Hugging Face `LlamaConfig` JSON object (`config.json`). */
export function toHuggingFaceConfig(config: ModelConfig): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
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
}

/**
 * Reads a Hugging Face `config.json` object; validates the result (see
 * {@link validateModelConfig}). Also refuses, with {@link InvalidArgumentError}, fields this
 * runtime would silently get wrong: an explicit `head_dim` other than
 * `hidden_size / num_attention_heads`, a `hidden_act` other than `silu`, and `rope_scaling`.
 */
export function fromHuggingFaceConfig(json: Record<string, unknown>): Readonly<ModelConfig> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InvalidArgumentError({ argument: 'config', message: 'expected a JSON object' });
  const headDimension = json.head_dim;
  if (headDimension !== undefined && headDimension !== null) {
    const hidden = json.hidden_size as number;
    const heads = json.num_attention_heads as number;
    if (typeof headDimension !== 'number' || headDimension * heads !== hidden) {
      throw new InvalidArgumentError({
        argument: 'config.head_dim',
        message: `head_dim ${JSON.stringify(headDimension)} is not hidden_size / num_attention_heads (${String(hidden)} / ${String(heads)}); other head sizes are not supported`,
      });
    }
  }
  if (json.hidden_act !== undefined && json.hidden_act !== 'silu') {
    throw new InvalidArgumentError({ argument: 'config.hidden_act', message: `only silu is supported, got ${JSON.stringify(json.hidden_act)}` });
  }
  if (json.rope_scaling !== undefined && json.rope_scaling !== null) {
    throw new InvalidArgumentError({ argument: 'config.rope_scaling', message: 'rope_scaling is not supported' });
  }
  return validateModelConfig({
    vocabularySize: json.vocab_size as number,
    hiddenSize: json.hidden_size as number,
    layers: json.num_hidden_layers as number,
    attentionHeads: json.num_attention_heads as number,
    keyValueHeads: (json.num_key_value_heads ?? json.num_attention_heads) as number,
    feedForwardSize: json.intermediate_size as number,
    maximumContext: json.max_position_embeddings as number,
    ropeTheta: (json.rope_theta ?? 10000) as number,
    normEpsilon: (json.rms_norm_eps ?? 1e-6) as number,
    tiedEmbeddings: (json.tie_word_embeddings ?? false) as boolean,
  });
}
