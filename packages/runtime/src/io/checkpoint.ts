import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import {
  CodestackError,
  FileFormatError,
  InvalidArgumentError,
  openDirectoryFiles,
  sha256Hex,
  writeDirectoryAtomic,
  type DirectoryFiles,
} from '@codestack/core';
import { LlamaModel, type WeightData } from '../model/llama-model.js';
import { fromHuggingFaceConfig, parameterCount, toHuggingFaceConfig, weightShapes, type ModelConfig } from '../model/model-config.js';
import type { Runtime } from '../backend/runtime.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from './safetensors.js';

/** The file names of a model checkpoint directory (the Hugging Face names). */
export const checkpointFiles = { config: 'config.json', weights: 'model.safetensors' } as const;

/** The largest `config.json` a load reads (1 MiB); a larger one is refused before it is read. */
export const maximumConfigBytes = 1 << 20;

/** The most header bytes a weights file may add to its tensor data (16 MiB). */
const maximumWeightsHeaderBytes = 16 * 1024 * 1024;

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
 * The files of a checkpoint of `model`, by name, as {@link saveModel} writes them:
 * `model.safetensors` (linear weights as [out, in]) and `config.json` (a `LlamaConfig`, plus
 * `codestack_weights_sha256`, the SHA-256 of the weights file). For callers that save a
 * checkpoint together with files of their own in one atomic `writeDirectoryAtomic`.
 */
export function encodeModelFiles(model: LlamaModel, options: SaveModelOptions = {}): Map<string, Uint8Array> {
  const dtype = options.dtype ?? 'F32';
  if (dtype !== 'F32' && dtype !== 'F16') throw new InvalidArgumentError({ argument: 'dtype', message: `expected F32 or F16, got ${String(dtype)}` });
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, weight] of model.exportWeights()) tensors.set(name, { shape: weight.shape, data: weight.data });
  const bytes = encodeSafetensors(tensors, { dtype, metadata: { format: 'pt', producer: '@codestack/runtime' } });
  const config = { ...toHuggingFaceConfig(model.config), torch_dtype: dtype === 'F16' ? 'float16' : 'float32', codestack_weights_sha256: sha256Hex(bytes) };
  return new Map([
    [checkpointFiles.config, new TextEncoder().encode(`${JSON.stringify(config, null, 2)}\n`)],
    [checkpointFiles.weights, bytes],
  ]);
}

/**
 * Saves `model` as a Hugging Face style directory (see {@link encodeModelFiles}) in one atomic
 * step with `writeDirectoryAtomic`: `codestack-manifest.json` records the SHA-256 and size of
 * both files, and a crash at any point leaves the previous checkpoint or this one, never a mix.
 * Leftovers of interrupted saves are removed. Other files of the directory are left alone.
 */
export async function saveModel(model: LlamaModel, directory: string, options: SaveModelOptions = {}): Promise<void> {
  await writeDirectoryAtomic(directory, encodeModelFiles(model, options));
}

function parseConfig(bytes: Uint8Array, path: string): { config: Readonly<ModelConfig>; weightsSha256: string | undefined } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new FileFormatError({ path, reason: 'corrupt', message: 'config.json is not valid JSON (or not UTF-8)', cause: error });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new FileFormatError({ path, reason: 'corrupt', message: 'config.json is not a JSON object' });
  const record = json as Record<string, unknown>;
  let config: Readonly<ModelConfig>;
  try {
    config = fromHuggingFaceConfig(record);
  } catch (error) {
    throw new FileFormatError({ path, reason: 'corrupt', message: `config.json is not a valid Llama configuration (${(error as Error).message})`, cause: error });
  }
  const checksum = record.codestack_weights_sha256;
  if (checksum !== undefined && (typeof checksum !== 'string' || !/^[0-9a-f]{64}$/.test(checksum))) {
    throw new FileFormatError({ path, reason: 'corrupt', message: 'codestack_weights_sha256 is not a SHA-256' });
  }
  return { config, weightsSha256: checksum as string | undefined };
}

async function readConfigFrom(files: DirectoryFiles): Promise<{ config: Readonly<ModelConfig>; weightsSha256: string | undefined }> {
  const bytes = await files.read(checkpointFiles.config, { maximumBytes: maximumConfigBytes });
  return parseConfig(bytes, join(files.directory, checkpointFiles.config));
}

/**
 * Reads and validates a checkpoint's `config.json` (checked against `codestack-manifest.json`
 * when the directory has one; every size bounded by `modelConfigLimits`).
 */
export async function readModelConfig(directory: string): Promise<{ config: Readonly<ModelConfig>; weightsSha256: string | undefined }> {
  return readConfigFrom(await openDirectoryFiles(directory));
}

/**
 * Loads a checkpoint directory written by {@link saveModel} (or a compatible Hugging Face Llama
 * checkpoint with f32/f16/bf16 weights). In order, before any weight is allocated:
 * `codestack-manifest.json`, when present, must list both files with their exact size and
 * SHA-256 (a directory without it, such as a Hugging Face download, is read without that check);
 * `config.json` must be at most 1 MiB and describe a model within `modelConfigLimits`; the
 * weights file's size must fit the parameter count the configuration implies (2 to 4 bytes per
 * parameter plus a header); the SHA-256 in `codestack_weights_sha256`, when present, must match.
 * Then every weight must be present with its exact shape, finite, and nothing else.
 * Violations throw {@link FileFormatError}: `MISMATCHED_FILE` for wrong shapes, missing or extra
 * tensors, a weights file of the wrong size or a different expected configuration;
 * `CORRUPT_FILE` for damaged bytes, out-of-bounds fields, non-finite weights or a checksum
 * mismatch; `MISSING_FILE`.
 */
export async function loadModel(runtime: Runtime, directory: string, options: LoadModelOptions = {}): Promise<LlamaModel> {
  const expectedDirectory = `a model checkpoint directory holding ${checkpointFiles.config} and ${checkpointFiles.weights}`;
  const directoryStat = await stat(directory).catch(() => undefined);
  if (directoryStat === undefined || !directoryStat.isDirectory()) {
    throw new FileFormatError({
      path: directory,
      reason: 'missing',
      message: `${directoryStat === undefined ? 'does not exist' : 'is not a directory'}: expected ${expectedDirectory}`,
    });
  }
  const files = await openDirectoryFiles(directory);
  const { config, weightsSha256 } = await readConfigFrom(files).catch((error: unknown) => {
    if (FileFormatError.isInstance(error) && error.reason === 'missing') {
      throw new FileFormatError({ path: join(directory, checkpointFiles.config), reason: 'missing', message: `does not exist: expected ${expectedDirectory}`, cause: error });
    }
    throw error;
  });
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
  const parameters = parameterCount(config);
  const size = await files.size(checkpointFiles.weights);
  const smallest = 8 + 2 * parameters;
  const largest = 8 + maximumWeightsHeaderBytes + 4 * parameters;
  if (size < smallest || size > largest) {
    throw new FileFormatError({
      path: weightsPath,
      reason: 'mismatch',
      message: `${size} bytes cannot hold the ${parameters} parameters config.json describes (${smallest} to ${largest} bytes)`,
    });
  }
  const bytes = await files.read(checkpointFiles.weights, { maximumBytes: largest });
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
  try {
    return LlamaModel.fromWeights(runtime, config, weights);
  } catch (error) {
    if (CodestackError.isInstance(error)) throw error;
    throw new FileFormatError({ path: weightsPath, reason: 'corrupt', message: `the runtime could not build the model (${(error as Error).message})`, cause: error });
  }
}
