import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LlamaModel, SeededRandom, createRuntime, fromHuggingFaceConfig, weightShapes, type ModelConfig, type Runtime, type WeightData } from '@codestack/runtime';
import * as tfCore from '@tensorflow/tfjs-core';
import type { Adapter } from './adapter.js';

/** A tiny model shape for tests: 3 layers so that `'middle'` differs from `'all'`. */
export const tinyModelConfig: ModelConfig = {
  vocabularySize: 40,
  hiddenSize: 16,
  layers: 3,
  attentionHeads: 4,
  keyValueHeads: 2,
  feedForwardSize: 32,
  maximumContext: 32,
  ropeTheta: 10000,
  normEpsilon: 1e-5,
  tiedEmbeddings: false,
};

let runtimePromise: Promise<Runtime> | undefined;

/** The wasm runtime shared by the tests of one file. */
export function testRuntime(): Promise<Runtime> {
  runtimePromise ??= createRuntime({ backend: 'wasm' });
  return runtimePromise;
}

/** A tiny model with visible weights (standard deviation 0.2). */
export async function tinyModel(seed = 1, config: ModelConfig = tinyModelConfig): Promise<LlamaModel> {
  return LlamaModel.create(await testRuntime(), config, { seed, initializerRange: 0.2 });
}

/** Fills every adapter variable with seeded noise (around one for IA3), so that the adapter changes the output. */
export function randomizeAdapter(adapter: Adapter, seed: number, size = 0.3): void {
  const random = new SeededRandom(seed);
  for (const [name, variable] of adapter.trainableVariables()) {
    const values = new Float32Array(variable.size);
    for (let index = 0; index < values.length; index++) values[index] = (name.endsWith('ia3_l') ? 1 : 0) + random.nextNormal() * size;
    tfCore.tidy(() => variable.assign(tfCore.tensor(values, variable.shape)));
  }
}

/** The logits of `model` for one fixed batch, as a flat array. */
export function logitsOf(model: LlamaModel, ids: number[][] = fixedBatch): Float32Array {
  const tensor = model.logits(ids);
  const values = new Float32Array(tensor.dataSync() as Float32Array);
  tensor.dispose();
  return values;
}

/** A fixed batch of two sequences of 10 token ids within the tiny vocabulary. */
export const fixedBatch: number[][] = [
  [1, 5, 9, 2, 7, 30, 12, 3, 8, 39],
  [4, 4, 17, 22, 0, 11, 6, 25, 19, 2],
];

/** The largest absolute element difference. */
export function maximumDifference(left: ArrayLike<number>, right: ArrayLike<number>): number {
  let worst = 0;
  for (let index = 0; index < left.length; index++) worst = Math.max(worst, Math.abs((left[index] as number) - (right[index] as number)));
  return worst;
}

/** A snapshot of every weight's bytes, by name. */
export function weightBytes(model: LlamaModel): Map<string, Uint8Array> {
  const result = new Map<string, Uint8Array>();
  for (const [name, variable] of model.weights) {
    const data = variable.dataSync() as Float32Array;
    result.set(name, new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)));
  }
  return result;
}

/** A small synthetic corpus with a learnable pattern (arithmetic progressions modulo the vocabulary). */
export function patternSequences(count: number, length: number, vocabularySize = tinyModelConfig.vocabularySize, seed = 3): number[][] {
  const random = new SeededRandom(seed);
  return Array.from({ length: count }, () => {
    const start = random.nextInt(vocabularySize);
    const stride = 1 + random.nextInt(3);
    return Array.from({ length }, (_, index) => (start + index * stride) % vocabularySize);
  });
}

const temporaryDirectories: string[] = [];

/** A fresh temporary directory, removed by {@link removeTemporaryDirectories}. */
export async function temporaryDirectory(prefix = 'tuning-test-'): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), prefix));
  temporaryDirectories.push(directory);
  return directory;
}

/** Removes every directory made by {@link temporaryDirectory} (call it in `afterAll`). */
export async function removeTemporaryDirectories(): Promise<void> {
  await Promise.all(temporaryDirectories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
}

/** The largest element difference between two adapters' variables of the same names (Infinity when the names differ). */
export function adapterDifference(left: Adapter, right: Adapter): number {
  const rightVariables = right.trainableVariables();
  let worst = 0;
  for (const [name, variable] of left.trainableVariables()) {
    const other = rightVariables.get(name);
    if (other === undefined) return Number.POSITIVE_INFINITY;
    worst = Math.max(worst, maximumDifference(variable.dataSync() as Float32Array, other.dataSync() as Float32Array));
  }
  return worst;
}

const small = { hidden_size: 32, intermediate_size: 48, num_hidden_layers: 3, vocab_size: 40, max_position_embeddings: 64, num_attention_heads: 4, num_key_value_heads: 2 };

/** `config.json` objects with the keys of the real families (as the runtime's tiny checkpoints), at a size that trains in seconds. */
export const architectureConfigs: Record<string, Record<string, unknown>> = {
  // Qwen2/2.5: q/k/v biases, tied embeddings.
  qwen2: { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_act: 'silu', rms_norm_eps: 1e-6, rope_theta: 1000000, tie_word_embeddings: true, ...small },
  // Qwen3: head_dim 16 while hidden/heads is 8 (q_proj is [64, 32]), per-head q/k RMSNorm.
  qwen3: { architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', attention_bias: false, head_dim: 16, hidden_act: 'silu', rms_norm_eps: 1e-6, rope_theta: 1000000, tie_word_embeddings: true, ...small },
  // Llama 3.1: untied lm_head, llama3 rope scaling.
  'llama-untied': {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', attention_bias: false, mlp_bias: false, hidden_act: 'silu', rms_norm_eps: 1e-5, rope_theta: 500000,
    rope_scaling: { factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 32, rope_type: 'llama3' }, tie_word_embeddings: false, ...small,
  },
  // A Llama with attention and MLP biases (IA3 on down_proj must keep its bias).
  'llama-biases': { architectures: ['LlamaForCausalLM'], model_type: 'llama', attention_bias: true, mlp_bias: true, hidden_act: 'silu', rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: false, ...small },
};

/** A model for `name` with random weights (norms near one, biases and weights normal), deterministic for a seed. */
export async function architectureModel(name: string, seed = 1): Promise<LlamaModel> {
  const config = fromHuggingFaceConfig(architectureConfigs[name] as Record<string, unknown>);
  const random = new SeededRandom(seed);
  const weights = new Map<string, WeightData>();
  for (const [weightName, shape] of weightShapes(config)) {
    const data = new Float32Array(shape.reduce((product, size) => product * size, 1));
    const isNorm = weightName.endsWith('norm.weight');
    for (let index = 0; index < data.length; index++) data[index] = isNorm ? 1 + 0.2 * random.nextNormal() : 0.2 * random.nextNormal();
    weights.set(weightName, { shape, data });
  }
  return LlamaModel.fromWeights(await testRuntime(), config, weights);
}

