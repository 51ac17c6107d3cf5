import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileFormatError, InvalidArgumentError } from '@codestack/core';
import { createRuntime } from '../backend/runtime.js';
import { loadModel } from '../io/checkpoint.js';
import { fromHuggingFaceConfig, parameterCount, toHuggingFaceConfig, weightShapes } from './model-config.js';
import { assertModelFits, estimateModelMemory, ModelTooLargeError } from './model-memory.js';
import { rotaryFrequencies } from './rotary-tables.js';
import { randomModel, tinyCheckpoints, writeHuggingFaceDirectory } from '../__fixtures__/hugging-face-checkpoints.js';

const scratch = await mkdtemp(join(tmpdir(), 'codestack-architectures-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

function maximumDifference(left: number[], right: number[]): number {
  let worst = 0;
  for (let index = 0; index < left.length; index++) worst = Math.max(worst, Math.abs((left[index] as number) - (right[index] as number)));
  return worst;
}

describe('Hugging Face configurations', () => {
  it('reads each family into the options its forward pass needs, and writes them back', () => {
    const [qwen2, qwen3, smol, llama32, llama31, biased] = tinyCheckpoints.map((checkpoint) => fromHuggingFaceConfig(checkpoint.config));
    expect(qwen2).toMatchObject({ architecture: 'qwen2', queryKeyValueBias: true, tiedEmbeddings: true, ropeTheta: 1e6 });
    expect(qwen2?.attentionOutputBias).toBeUndefined();
    expect(qwen3).toMatchObject({ architecture: 'qwen3', headSize: 32, queryKeyNorm: true });
    expect(qwen3?.queryKeyValueBias).toBeUndefined();
    expect(smol?.architecture).toBeUndefined();
    expect(llama32?.headSize).toBeUndefined(); // head_dim 16 = 64 / 4 reads as the default
    expect(llama32?.ropeScaling).toEqual({ type: 'llama3', factor: 32, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaximumContext: 8192 });
    expect(llama31?.tiedEmbeddings).toBe(false);
    expect(biased).toMatchObject({ queryKeyValueBias: true, attentionOutputBias: true, feedForwardBias: true, ropeScaling: { type: 'linear', factor: 2 } });
    for (const config of [qwen2, qwen3, smol, llama32, llama31, biased]) expect(fromHuggingFaceConfig(toHuggingFaceConfig(config!))).toEqual(config);
    // Qwen3's head size is its own: q_proj is [heads * 32, 64], o_proj its transpose, plus the per-head norms.
    const shapes = weightShapes(qwen3!);
    expect(shapes.get('model.layers.0.self_attn.q_proj.weight')).toEqual([128, 64]);
    expect(shapes.get('model.layers.0.self_attn.o_proj.weight')).toEqual([64, 128]);
    expect(shapes.get('model.layers.1.self_attn.k_norm.weight')).toEqual([32]);
    expect(weightShapes(qwen2!).get('model.layers.0.self_attn.k_proj.bias')).toEqual([32]);
    expect(weightShapes(qwen2!).has('model.layers.0.self_attn.o_proj.bias')).toBe(false);
    for (const config of [qwen2, qwen3, biased]) expect(parameterCount(config!)).toBe([...weightShapes(config!).values()].reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0));
  });

  it('matches the real Qwen2.5-0.5B, Qwen3-0.6B and Llama-3.2-1B parameter counts', () => {
    const qwen25 = { model_type: 'qwen2', hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936, max_position_embeddings: 32768, tie_word_embeddings: true, use_sliding_window: false, sliding_window: 32768 };
    expect(parameterCount(fromHuggingFaceConfig(qwen25))).toBe(494_032_768);
    const qwen3 = { model_type: 'qwen3', hidden_size: 1024, head_dim: 128, intermediate_size: 3072, num_hidden_layers: 28, num_attention_heads: 16, num_key_value_heads: 8, vocab_size: 151936, max_position_embeddings: 40960, tie_word_embeddings: true };
    expect(parameterCount(fromHuggingFaceConfig(qwen3))).toBe(596_049_920);
    const llama = { model_type: 'llama', hidden_size: 2048, head_dim: 64, intermediate_size: 8192, num_hidden_layers: 16, num_attention_heads: 32, num_key_value_heads: 8, vocab_size: 128256, max_position_embeddings: 131072, tie_word_embeddings: true, rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } };
    expect(parameterCount(fromHuggingFaceConfig(llama))).toBe(1_235_814_400);
  });

  it('refuses other architectures and unsupported options, naming the key', () => {
    const base = tinyCheckpoints[0]!.config;
    const cases: [Record<string, unknown>, string][] = [
      [{ model_type: 'gemma2' }, 'config.model_type'],
      [{ use_sliding_window: true }, 'config.use_sliding_window'],
      [{ model_type: 'mistral', sliding_window: 4096, max_position_embeddings: 32768 }, 'config.sliding_window'],
      [{ rope_scaling: { rope_type: 'yarn', factor: 4 } }, 'config.rope_scaling'],
      [{ rope_scaling: { rope_type: 'linear', factor: -1 } }, 'config.ropeScaling.factor'],
      [{ model_type: 'llama', rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 4, high_freq_factor: 1, original_max_position_embeddings: 8192 } }, 'config.ropeScaling.highFrequencyFactor'],
      [{ hidden_act: 'gelu_pytorch_tanh' }, 'config.hidden_act'],
      [{ model_type: 'qwen3', head_dim: 33 }, 'config.headSize'],
      [{ model_type: 'llama', mlp_bias: 'no' }, 'config.mlp_bias'],
    ];
    for (const [change, argument] of cases) {
      let caught: unknown;
      try {
        fromHuggingFaceConfig({ ...base, ...change });
      } catch (error) {
        caught = error;
      }
      expect(InvalidArgumentError.isInstance(caught), JSON.stringify(change)).toBe(true);
      expect((caught as InvalidArgumentError).argument, JSON.stringify(change)).toBe(argument);
    }
    // Mistral without an active window runs as Llama.
    expect(fromHuggingFaceConfig({ ...base, model_type: 'mistral', sliding_window: null, use_sliding_window: undefined }).architecture).toBeUndefined();
  });

  it('rescales rotary frequencies as Llama 3 does: low frequencies by factor, high ones kept, smooth between', () => {
    const config = fromHuggingFaceConfig(tinyCheckpoints[3]!.config);
    const plain = rotaryFrequencies({ ...config, ropeScaling: undefined });
    const scaled = rotaryFrequencies(config);
    expect(scaled[0]).toBe(plain[0]);
    expect(scaled[7]! / plain[7]!).toBeCloseTo(1 / 32, 10);
    const wavelength = (index: number): number => (2 * Math.PI) / plain[index]!;
    const medium = [...plain.keys()].filter((index) => wavelength(index) >= 8192 / 4 && wavelength(index) <= 8192);
    expect(medium.length).toBeGreaterThan(0);
    for (const index of medium) expect(scaled[index]! / plain[index]!).toBeGreaterThan(1 / 32);
  });
});

describe('Hugging Face checkpoints on wasm', () => {
  for (const checkpoint of tinyCheckpoints) {
    it(`${checkpoint.name}: loads the real layout (${checkpoint.dtype}${checkpoint.maximumShardBytes === undefined ? '' : ', sharded'}) and decodes with the KV cache as the full forward does, at every step`, async () => {
      const runtime = await createRuntime({ backend: 'wasm' });
      const { tf } = runtime;
      const directory = join(scratch, checkpoint.name);
      const source = randomModel(runtime, checkpoint);
      await writeHuggingFaceDirectory(source, checkpoint, directory);
      source.dispose();
      const names = await readdir(directory);
      expect(names.includes('model.safetensors.index.json')).toBe(checkpoint.maximumShardBytes !== undefined);
      if (checkpoint.maximumShardBytes !== undefined) expect(names.filter((name) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(name)).length).toBeGreaterThan(1);

      const baseline = tf.memory().numTensors;
      const model = await loadModel(runtime, directory);
      const tokens = [3, 17, 42, 99, 5, 150, 77, 8, 61, 120, 33, 2];
      const before = tf.memory().numTensors;
      const full = model.logits([tokens]);
      const fullValues = full.arraySync()[0]!;
      full.dispose();
      const cache = model.createCache();
      const prompt = model.logits([tokens.slice(0, 4)], cache);
      const promptValues = prompt.arraySync()[0]!;
      prompt.dispose();
      for (let position = 0; position < 4; position++) expect(maximumDifference(promptValues[position]!, fullValues[position]!)).toBeLessThan(1e-4);
      for (let position = 4; position < tokens.length; position++) {
        const step = model.logits([[tokens[position]!]], cache);
        const values = step.arraySync()[0]![0]!;
        step.dispose();
        expect(maximumDifference(values, fullValues[position]!), `step ${position}`).toBeLessThan(1e-4);
      }
      // The logits are not degenerate: positions differ, and so do the top tokens.
      expect(new Set(fullValues.map((row) => row.indexOf(Math.max(...row)))).size).toBeGreaterThan(2);
      cache.dispose();
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
      expect(tf.memory().numTensors).toBe(baseline);
    });
  }

  it('keeps nothing allocated when a shard is damaged halfway through the load', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const checkpoint = tinyCheckpoints[1]!;
    const directory = join(scratch, 'damaged');
    const source = randomModel(runtime, checkpoint);
    await writeHuggingFaceDirectory(source, checkpoint, directory);
    source.dispose();
    const { readFile, writeFile } = await import('node:fs/promises');
    const shards = (await readdir(directory)).filter((name) => name.startsWith('model-')).sort();
    const last = join(directory, shards[shards.length - 1]!);
    const bytes = await readFile(last);
    bytes.writeUInt16LE(0x7fc0, bytes.length - 2); // a bf16 NaN in the last tensor
    await writeFile(last, bytes);
    const baseline = runtime.tf.memory().numTensors;
    const error = await loadModel(runtime, directory).catch((caught: unknown) => caught);
    expect(FileFormatError.isInstance(error)).toBe(true);
    expect((error as FileFormatError).message).toMatch(/non-finite/);
    expect(runtime.tf.memory().numTensors).toBe(baseline);
  });

  it('says how much memory a model needs, and refuses one the wasm heap cannot hold before reading its weights', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const qwen25 = fromHuggingFaceConfig({ model_type: 'qwen2', hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936, max_position_embeddings: 32768, tie_word_embeddings: true });
    const estimate = estimateModelMemory(qwen25);
    expect(estimate.weightBytes).toBe(4 * 494_032_768);
    expect(estimate.inferenceHeadBytes).toBe(4 * 151936 * 896);
    expect(estimate.keyValueBytesPerToken).toBe(2 * 24 * 2 * 64 * 4);
    // On wasm XNNPACK packs a copy of every matMul weight: 494M parameters need about 4.6 GB, over the 4 GiB heap.
    expect(estimate.packedWeightBytes).toBe(4 * (24 * 896 * (2 * 896 + 2 * 128 + 3 * 4864) + 151936 * 896));
    expect(estimateModelMemory(qwen25, { backend: 'tensorflow' }).packedWeightBytes).toBe(0);
    expect(() => assertModelFits(runtime, qwen25)).toThrow(/XNNPACK/);
    const smol = fromHuggingFaceConfig({ model_type: 'llama', hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, vocab_size: 49152, max_position_embeddings: 8192, tie_word_embeddings: true });
    expect(assertModelFits(runtime, smol).totalBytes).toBeLessThan(2 ** 31);
    const llama8b = fromHuggingFaceConfig({ model_type: 'llama', hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, vocab_size: 128256, max_position_embeddings: 131072 });
    const error = (() => {
      try {
        assertModelFits(runtime, llama8b);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(ModelTooLargeError.isInstance(error)).toBe(true);
    expect((error as ModelTooLargeError).code).toBe('MODEL_TOO_LARGE');
    expect((error as ModelTooLargeError).requiredBytes).toBeGreaterThan(30e9);
    expect((error as Error).message).toMatch(/tensorflow backend/);
    // loadModel refuses from config.json alone: the directory has no weights at all.
    const { mkdir, writeFile } = await import('node:fs/promises');
    const directory = join(scratch, 'too-large');
    await mkdir(directory, { recursive: true });
    await writeFile(join(directory, 'config.json'), JSON.stringify(toHuggingFaceConfig(llama8b)));
    const refused = await loadModel(runtime, directory).catch((caught: unknown) => caught);
    expect(ModelTooLargeError.isInstance(refused)).toBe(true);
  });
});
