import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Runtime } from '../backend/runtime.js';
import { encodeModelFiles } from '../io/checkpoint.js';
import { LlamaModel, type WeightData } from '../model/llama-model.js';
import { fromHuggingFaceConfig, weightShapes } from '../model/model-config.js';
import { SeededRandom } from '../random/seeded-random.js';

/** A tiny checkpoint in the exact layout of a real model family. */
export interface TinyCheckpoint {
  /** Which real model's `config.json` keys and file layout it copies. */
  name: string;
  /** The `config.json` object, with the real model's keys and small sizes. */
  config: Record<string, unknown>;
  /** Weight dtype in the files (the real ones are bf16). */
  dtype: 'F32' | 'F16' | 'BF16';
  /** Shard size in bytes, where the real model is sharded; undefined for one `model.safetensors`. */
  maximumShardBytes?: number;
}

const small = { hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, vocab_size: 160 };

/** Tiny checkpoints with the `config.json` keys of Qwen2.5-0.5B, Qwen3-0.6B, SmolLM2-135M, Llama-3.2-1B, Llama-3.1-8B and a biased Llama. */
export const tinyCheckpoints: TinyCheckpoint[] = [
  {
    name: 'qwen2.5-0.5b',
    dtype: 'BF16',
    config: {
      architectures: ['Qwen2ForCausalLM'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151643, hidden_act: 'silu',
      initializer_range: 0.02, max_position_embeddings: 32768, max_window_layers: 24, model_type: 'qwen2', num_attention_heads: 4,
      num_key_value_heads: 2, rms_norm_eps: 1e-6, rope_theta: 1000000.0, sliding_window: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16',
      transformers_version: '4.40.1', use_cache: true, use_sliding_window: false, ...small,
    },
  },
  {
    name: 'qwen3-0.6b',
    dtype: 'BF16',
    maximumShardBytes: 24_000,
    config: {
      architectures: ['Qwen3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151645, head_dim: 32,
      hidden_act: 'silu', initializer_range: 0.02, max_position_embeddings: 40960, max_window_layers: 28, model_type: 'qwen3', num_attention_heads: 4,
      num_key_value_heads: 2, rms_norm_eps: 1e-6, rope_scaling: null, rope_theta: 1000000, sliding_window: null, tie_word_embeddings: true,
      torch_dtype: 'bfloat16', transformers_version: '4.51.0', use_cache: true, use_sliding_window: false, ...small,
    },
  },
  {
    name: 'smollm2-135m',
    dtype: 'BF16',
    config: {
      architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 0, eos_token_id: 0, hidden_act: 'silu',
      initializer_range: 0.041666666666666664, is_llama_config: true, max_position_embeddings: 8192, mlp_bias: false, model_type: 'llama',
      num_attention_heads: 4, num_key_value_heads: 2, pretraining_tp: 1, rms_norm_eps: 1e-5, rope_interleaved: false, rope_scaling: null,
      rope_theta: 100000, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.42.3', use_cache: true, ...small,
    },
  },
  {
    name: 'llama-3.2-1b',
    dtype: 'BF16',
    config: {
      architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 128000, eos_token_id: 128001, head_dim: 16,
      hidden_act: 'silu', initializer_range: 0.02, max_position_embeddings: 131072, mlp_bias: false, model_type: 'llama', num_attention_heads: 4,
      num_key_value_heads: 2, pretraining_tp: 1, rms_norm_eps: 1e-5,
      rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
      rope_theta: 500000.0, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.45.0.dev0', use_cache: true, ...small,
    },
  },
  {
    name: 'llama-3.1-8b',
    dtype: 'BF16',
    maximumShardBytes: 40_000,
    config: {
      architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 128000, eos_token_id: [128001, 128008, 128009],
      hidden_act: 'silu', initializer_range: 0.02, max_position_embeddings: 131072, mlp_bias: false, model_type: 'llama', num_attention_heads: 4,
      num_key_value_heads: 1, pretraining_tp: 1, rms_norm_eps: 1e-5,
      rope_scaling: { factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
      rope_theta: 500000.0, tie_word_embeddings: false, torch_dtype: 'bfloat16', transformers_version: '4.43.0.dev0', use_cache: true, ...small,
    },
  },
  {
    name: 'llama-biases-linear-rope',
    dtype: 'F16',
    config: {
      architectures: ['LlamaForCausalLM'], attention_bias: true, mlp_bias: true, hidden_act: 'silu', max_position_embeddings: 4096, model_type: 'llama',
      num_attention_heads: 4, num_key_value_heads: 4, rms_norm_eps: 1e-5, rope_scaling: { type: 'linear', factor: 2.0 }, rope_theta: 10000.0,
      tie_word_embeddings: false, torch_dtype: 'float16', ...small,
    },
  },
];

/**
 * A model with random weights for `checkpoint` (norm weights near 1, everything else normal with
 * standard deviation `range`), deterministic for a seed.
 */
export function randomModel(runtime: Runtime, checkpoint: TinyCheckpoint, seed = 1, range = 0.15): LlamaModel {
  const config = fromHuggingFaceConfig(checkpoint.config);
  const random = new SeededRandom(seed);
  const weights = new Map<string, WeightData>();
  for (const [name, shape] of weightShapes(config)) {
    const data = new Float32Array(shape.reduce((product, size) => product * size, 1));
    const isNorm = name.endsWith('norm.weight');
    for (let index = 0; index < data.length; index++) data[index] = isNorm ? 1 + 0.2 * random.nextNormal() : range * random.nextNormal();
    weights.set(name, { shape, data });
  }
  return LlamaModel.fromWeights(runtime, config, weights);
}

/**
 * Writes `model` into `directory` as a Hugging Face download looks: the real `config.json` of
 * `checkpoint`, `model.safetensors` or shards with `model.safetensors.index.json`, no manifest.
 */
export async function writeHuggingFaceDirectory(model: LlamaModel, checkpoint: TinyCheckpoint, directory: string): Promise<void> {
  await mkdir(directory, { recursive: true });
  const options = checkpoint.maximumShardBytes === undefined ? { dtype: checkpoint.dtype } : { dtype: checkpoint.dtype, maximumShardBytes: checkpoint.maximumShardBytes };
  for (const [name, bytes] of encodeModelFiles(model, options)) {
    await writeFile(join(directory, name), name === 'config.json' ? `${JSON.stringify(checkpoint.config, null, 2)}\n` : bytes);
  }
}
