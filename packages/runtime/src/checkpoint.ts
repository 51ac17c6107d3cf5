import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileFormatError, InvalidArgumentError, sha256Hex, writeFileAtomic } from '@codestack/core';
import { LlamaModel, type WeightData } from './llama-model.js';
import { fromHuggingFaceConfig, toHuggingFaceConfig, weightShapes, type ModelConfig } from './model-config.js';
import type { Runtime } from './runtime.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from './safetensors.js';

/** The file names of a model checkpoint directory. */
export const checkpointFiles = { config: 'config.json', weights: 'model.safetensors' } as const;

/** Options of {@link saveModel}. */
export interface SaveModelOptions {
  /** Weight dtype in `model.safetensors`: `F32` (default) or `F16`. */
  dtype?: 'F32' | 'F16';
}

/** Options of {@link loadModel}. */
export interface LoadModelOptions {
  /** When given, the checkpoint's configuration must equal it, or loading fails with `MISMATCHED_FILE`. */
  expectedConfig?: ModelConfig;
}

/**
 * Saves `model` as a Hugging Face style directory: `model.safetensors` (linear weights as
 * [out, in]) and `config.json` (a `LlamaConfig`, plus the SHA-256 of the weights file). Both are
 * written atomically; `config.json` is written last.
 */
export async function saveModel(model: LlamaModel, directory: string, options: SaveModelOptions = {}): Promise<void> {
  const dtype = options.dtype ?? 'F32';
  if (dtype !== 'F32' && dtype !== 'F16') throw new InvalidArgumentError({ argument: 'dtype', message: `expected F32 or F16, got ${String(dtype)}` });
  await mkdir(directory, { recursive: true });
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, weight] of model.exportWeights()) tensors.set(name, { shape: weight.shape, data: weight.data });
  const bytes = encodeSafetensors(tensors, { dtype, metadata: { format: 'pt', producer: '@codestack/runtime' } });
  await writeFileAtomic(join(directory, checkpointFiles.weights), bytes);
  const config = { ...toHuggingFaceConfig(model.config), torch_dtype: dtype === 'F16' ? 'float16' : 'float32', codestack_weights_sha256: sha256Hex(bytes) };
  await writeFileAtomic(join(directory, checkpointFiles.config), `${JSON.stringify(config, null, 2)}\n`);
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new FileFormatError({ path, reason: 'missing', message: 'cannot read the file', cause: error });
  }
}

/** Reads and validates a checkpoint's `config.json`. */
export async function readModelConfig(directory: string): Promise<{ config: Readonly<ModelConfig>; weightsSha256: string | undefined }> {
  const path = join(directory, checkpointFiles.config);
  const text = new TextDecoder().decode(await readBytes(path));
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new FileFormatError({ path, reason: 'corrupt', message: 'config.json is not valid JSON', cause: error });
  }
  try {
    const config = fromHuggingFaceConfig(json);
    const checksum = json.codestack_weights_sha256;
    return { config, weightsSha256: typeof checksum === 'string' ? checksum : undefined };
  } catch (error) {
    throw new FileFormatError({ path, reason: 'corrupt', message: `config.json is not a valid Llama configuration (${(error as Error).message})`, cause: error });
  }
}

/**
 * Loads a checkpoint directory written by {@link saveModel} (or a compatible Hugging Face Llama
 * checkpoint with f32/f16/bf16 weights). Every weight the configuration implies must be present
 * with its exact shape, and nothing else; violations throw {@link FileFormatError}
 * (`MISMATCHED_FILE` for wrong shapes, missing or extra tensors or a different expected
 * configuration; `CORRUPT_FILE` for damaged bytes or a checksum mismatch; `MISSING_FILE`).
 */
export async function loadModel(runtime: Runtime, directory: string, options: LoadModelOptions = {}): Promise<LlamaModel> {
  const { config, weightsSha256 } = await readModelConfig(directory);
  const configPath = join(directory, checkpointFiles.config);
  if (options.expectedConfig !== undefined) {
    for (const [key, value] of Object.entries(options.expectedConfig)) {
      if (config[key as keyof ModelConfig] !== value) {
        throw new FileFormatError({
          path: configPath,
          reason: 'mismatch',
          message: `${key} is ${String(config[key as keyof ModelConfig])}, expected ${String(value)}`,
        });
      }
    }
  }
  const weightsPath = join(directory, checkpointFiles.weights);
  const bytes = await readBytes(weightsPath);
  if (weightsSha256 !== undefined && sha256Hex(bytes) !== weightsSha256) {
    throw new FileFormatError({ path: weightsPath, reason: 'corrupt', message: 'SHA-256 differs from the one recorded in config.json' });
  }
  const { tensors } = decodeSafetensors(bytes, weightsPath);
  const expected = weightShapes(config);
  const weights = new Map<string, WeightData>();
  for (const [name, shape] of expected) {
    const tensor = tensors.get(name);
    if (tensor === undefined) throw new FileFormatError({ path: weightsPath, reason: 'mismatch', message: `tensor ${name} is missing` });
    if (tensor.shape.length !== shape.length || tensor.shape.some((size, index) => size !== shape[index])) {
      throw new FileFormatError({
        path: weightsPath,
        reason: 'mismatch',
        message: `${name} has shape [${tensor.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`,
      });
    }
    weights.set(name, { shape: tensor.shape, data: tensor.data });
  }
  for (const name of tensors.keys()) {
    if (!expected.has(name)) throw new FileFormatError({ path: weightsPath, reason: 'mismatch', message: `unexpected tensor ${name} for this configuration` });
  }
  return LlamaModel.fromWeights(runtime, config, weights);
}
