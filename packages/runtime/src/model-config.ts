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
 * Checks a configuration and returns a frozen copy. Throws {@link InvalidArgumentError} naming
 * the first bad field (`config.<field>`).
 */
export function validateModelConfig(config: ModelConfig): Readonly<ModelConfig> {
  if (typeof config !== 'object' || config === null) {
    throw new InvalidArgumentError({ argument: 'config', message: 'expected an object' });
  }
  for (const key of positiveIntegerKeys) {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new InvalidArgumentError({ argument: `config.${key}`, message: `expected a positive integer, got ${JSON.stringify(value)}` });
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
  for (const key of ['ropeTheta', 'normEpsilon'] as const) {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new InvalidArgumentError({ argument: `config.${key}`, message: `expected a positive finite number, got ${JSON.stringify(value)}` });
    }
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

/** The number of parameters of a model with this configuration. */
export function parameterCount(config: ModelConfig): number {
  let total = 0;
  for (const shape of weightShapes(config).values()) total += shape.reduce((product, size) => product * size, 1);
  return total;
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

/** Reads a Hugging Face `config.json` object; validates the result. */
export function fromHuggingFaceConfig(json: Record<string, unknown>): Readonly<ModelConfig> {
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
