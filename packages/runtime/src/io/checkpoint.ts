import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { open, stat, type FileHandle } from 'node:fs/promises';
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
import { assertModelFits } from '../model/model-memory.js';
import {
  decodeSafetensorsValues,
  encodeSafetensors,
  parseSafetensorsHeader,
  safetensorsHeaderLength,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type SafetensorsTensor,
} from './safetensors.js';

/** The file names of a model checkpoint directory (the Hugging Face names). */
export const checkpointFiles = { config: 'config.json', weights: 'model.safetensors', shardIndex: 'model.safetensors.index.json' } as const;

/** The largest `model.safetensors.index.json` a load reads (16 MiB). */
const maximumShardIndexBytes = 16 * 1024 * 1024;

/** The largest `config.json` a load reads (1 MiB); a larger one is refused before it is read. */
export const maximumConfigBytes = 1 << 20;

/** The most header bytes a weights file may add to its tensor data (16 MiB). */
const maximumWeightsHeaderBytes = 16 * 1024 * 1024;

/** Options of {@link saveModel}. */
export interface SaveModelOptions {
  /** Weight dtype in the weights files: `F32` (default), `F16` or `BF16`. */
  dtype?: 'F32' | 'F16' | 'BF16';
  /**
   * Split the weights into shards of at most this many bytes of tensor data each (whole tensors;
   * a tensor larger than the limit gets a shard of its own), named as Hugging Face names them
   * (`model-00001-of-00003.safetensors`) and listed in `model.safetensors.index.json`. Default:
   * one `model.safetensors`.
   */
  maximumShardBytes?: number;
}

/** Options of {@link loadModel}. */
export interface LoadModelOptions {
  /** When given, the checkpoint's configuration must equal it, or loading fails with `MISMATCHED_FILE`. */
  expectedConfig?: ModelConfig;
}

/**
 * The files of a checkpoint of `model`, by name, as {@link saveModel} writes them:
 * `model.safetensors` (linear weights as [out, in]) and `config.json` (a `LlamaConfig`,
 * `Qwen2Config` or `Qwen3Config`, plus `codestack_weights_sha256`, the SHA-256 of the weights
 * file); or, with `maximumShardBytes`, shards and `model.safetensors.index.json` (the manifest of
 * {@link saveModel} then covers them). For callers that save a
 * checkpoint together with files of their own in one atomic `writeDirectoryAtomic`.
 */
export function encodeModelFiles(model: LlamaModel, options: SaveModelOptions = {}): Map<string, Uint8Array> {
  const dtype = options.dtype ?? 'F32';
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') throw new InvalidArgumentError({ argument: 'dtype', message: `expected F32, F16 or BF16, got ${String(dtype)}` });
  const limit = options.maximumShardBytes;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
    throw new InvalidArgumentError({ argument: 'maximumShardBytes', message: `expected a positive integer, got ${String(limit)}` });
  }
  const bytesPerValue = dtype === 'F32' ? 4 : 2;
  const shards: Map<string, SafetensorsTensor>[] = [new Map()];
  let shardBytes = 0;
  for (const [name, weight] of model.exportWeights()) {
    const size = weight.data.length * bytesPerValue;
    if (limit !== undefined && shardBytes > 0 && shardBytes + size > limit) {
      shards.push(new Map());
      shardBytes = 0;
    }
    (shards[shards.length - 1] as Map<string, SafetensorsTensor>).set(name, { shape: weight.shape, data: weight.data });
    shardBytes += size;
  }
  const torchDtype = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[dtype];
  const metadata = { format: 'pt', producer: '@codestack/runtime' };
  const result = new Map<string, Uint8Array>();
  const encodeConfig = (extra: Record<string, unknown>): Uint8Array =>
    new TextEncoder().encode(`${JSON.stringify({ ...toHuggingFaceConfig(model.config), torch_dtype: torchDtype, ...extra }, null, 2)}\n`);
  if (shards.length === 1) {
    const bytes = encodeSafetensors(shards[0] as Map<string, SafetensorsTensor>, { dtype, metadata });
    result.set(checkpointFiles.config, encodeConfig({ codestack_weights_sha256: sha256Hex(bytes) }));
    result.set(checkpointFiles.weights, bytes);
    return result;
  }
  result.set(checkpointFiles.config, encodeConfig({}));
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  const count = String(shards.length).padStart(5, '0');
  shards.forEach((tensors, index) => {
    const name = `model-${String(index + 1).padStart(5, '0')}-of-${count}.safetensors`;
    for (const [tensor, value] of tensors) {
      weightMap[tensor] = name;
      totalSize += value.data.length * bytesPerValue;
    }
    result.set(name, encodeSafetensors(tensors, { dtype, metadata }));
  });
  result.set(checkpointFiles.shardIndex, new TextEncoder().encode(`${JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2)}\n`));
  return result;
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

/** A weights file opened for ranged reads, with its checked header. */
interface WeightsFile {
  readonly name: string;
  readonly path: string;
  readonly header: SafetensorsHeader;
  read(begin: number, end: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

async function readFully(handle: FileHandle, length: number, position: number, path: string): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) throw new FileFormatError({ path, reason: 'corrupt', message: `the file ended after ${position + filled} bytes (changed while loading?)` });
    filled += bytesRead;
  }
  return buffer;
}

/** Opens a weights file: through the verified (whole-file) read when the directory has a manifest, by ranged reads otherwise. */
async function openWeightsFile(files: DirectoryFiles, name: string, size: number): Promise<WeightsFile> {
  const path = join(files.directory, name);
  if (files.manifest !== undefined) {
    const bytes = await files.read(name, { maximumBytes: size });
    const headerLength = safetensorsHeaderLength(bytes, bytes.length, path);
    const header = parseSafetensorsHeader(bytes.subarray(8, 8 + headerLength), bytes.length, path);
    return { name, path, header, read: async (begin, end) => bytes.subarray(begin, end), close: async () => undefined };
  }
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new FileFormatError({ path, reason: 'missing', message: 'cannot open the weights file', cause: error });
  }
  try {
    const actual = (await handle.stat()).size;
    if (actual !== size) throw new FileFormatError({ path, reason: 'corrupt', message: `the file has ${actual} bytes, ${size} when the load began (changed while loading?)` });
    const headerLength = safetensorsHeaderLength(await readFully(handle, Math.min(8, size), 0, path), size, path);
    const header = parseSafetensorsHeader(await readFully(handle, headerLength, 8, path), size, path);
    return { name, path, header, read: (begin, end) => readFully(handle, end - begin, begin, path), close: () => handle.close() };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function streamedSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function hasFile(files: DirectoryFiles, name: string): Promise<boolean> {
  try {
    await files.size(name);
    return true;
  } catch (error) {
    if (FileFormatError.isInstance(error)) return false;
    throw error;
  }
}

/** A shard file name a weight map may name: a plain `.safetensors` file of the same directory. */
function isPlainShardName(name: unknown): name is string {
  return typeof name === 'string' && /^[^/\\\0]+\.safetensors$/.test(name) && !name.startsWith('.') && name.length <= 255;
}

/** Reads `model.safetensors.index.json`: the shard of every tensor (`weight_map`). */
async function readShardIndex(files: DirectoryFiles): Promise<Map<string, string>> {
  const path = join(files.directory, checkpointFiles.shardIndex);
  const bytes = await files.read(checkpointFiles.shardIndex, { maximumBytes: maximumShardIndexBytes });
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new FileFormatError({ path, reason: 'corrupt', message: 'is not valid JSON (or not UTF-8)', cause: error });
  }
  const weightMap = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) throw new FileFormatError({ path, reason: 'corrupt', message: 'weight_map is not an object' });
  const shards = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    if (!isPlainShardName(shard)) throw new FileFormatError({ path, reason: 'corrupt', message: `weight_map sends ${tensor} to ${JSON.stringify(shard)}, not a .safetensors file of this directory` });
    shards.set(tensor, shard);
  }
  return shards;
}

/** Tensors some checkpoints carry that the runtime recomputes (older Llama conversions store the rotary frequencies). */
function isIgnoredTensor(name: string): boolean {
  return name.endsWith('.rotary_emb.inv_freq');
}

/**
 * Loads a checkpoint directory written by {@link saveModel}, or a Hugging Face checkpoint of a
 * `llama`, `qwen2` or `qwen3` model (see `fromHuggingFaceConfig`): `config.json` with either
 * `model.safetensors` or `model.safetensors.index.json` and the shards it names; F32, F16 or BF16
 * weights. In order, before any weight is allocated: `codestack-manifest.json`, when present, must
 * list every file with its exact size and SHA-256 (a directory without it, such as a Hugging Face
 * download, is read without that check); `config.json` must be at most 1 MiB and describe a
 * supported model within `modelConfigLimits`; the model must fit the backend
 * (`ModelTooLargeError` on wasm, whose heap is 4 GiB, with the estimate of `estimateModelMemory`);
 * the weights files' total size must fit the parameter count the configuration implies (2 to 4
 * bytes per parameter plus headers); the SHA-256 in `codestack_weights_sha256`, when present,
 * must match; every header must be well formed; every weight must be present once with its
 * exact shape, and nothing else (but `rotary_emb.inv_freq`). Then weights are read, widened to
 * float32, checked finite and moved to the backend one at a time, so that a load holds at most
 * one weight in JavaScript memory beside the backend's copy (a directory with a manifest is
 * verified by reading each whole file first).
 * Violations throw {@link FileFormatError}: `MISMATCHED_FILE` for wrong shapes, missing or extra
 * tensors, a weights file of the wrong size or a different expected configuration;
 * `CORRUPT_FILE` for damaged bytes, out-of-bounds fields, non-finite weights or a checksum
 * mismatch; `MISSING_FILE`. Nothing stays allocated after a failed load.
 */
export async function loadModel(runtime: Runtime, directory: string, options: LoadModelOptions = {}): Promise<LlamaModel> {
  const expectedDirectory = `a model checkpoint directory holding ${checkpointFiles.config} and ${checkpointFiles.weights} (or ${checkpointFiles.shardIndex} and its shards)`;
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
      if (JSON.stringify(config[key as keyof ModelConfig]) !== JSON.stringify(value)) {
        throw new FileFormatError({
          path: configPath,
          reason: 'mismatch',
          message: `${key} is ${JSON.stringify(config[key as keyof ModelConfig])}, expected ${JSON.stringify(value)}`,
        });
      }
    }
  }
  runtime.assertActive();
  assertModelFits(runtime, config);

  // Which files hold the weights.
  let shardOf: Map<string, string> | undefined;
  let shardNames: string[];
  if (await hasFile(files, checkpointFiles.weights)) shardNames = [checkpointFiles.weights];
  else if (await hasFile(files, checkpointFiles.shardIndex)) {
    shardOf = await readShardIndex(files);
    shardNames = [...new Set(shardOf.values())];
  } else {
    throw new FileFormatError({ path: join(directory, checkpointFiles.weights), reason: 'missing', message: `does not exist (nor ${checkpointFiles.shardIndex}): expected ${expectedDirectory}` });
  }
  const sizes = new Map<string, number>();
  for (const name of shardNames) sizes.set(name, await files.size(name));
  const total = [...sizes.values()].reduce((sum, size) => sum + size, 0);
  const parameters = parameterCount(config);
  const smallest = 8 * shardNames.length + 2 * parameters;
  const largest = (8 + maximumWeightsHeaderBytes) * shardNames.length + 4 * parameters;
  const weightsPath = join(directory, shardOf === undefined ? checkpointFiles.weights : checkpointFiles.shardIndex);
  if (total < smallest || total > largest) {
    throw new FileFormatError({
      path: weightsPath,
      reason: 'mismatch',
      message: `${total} bytes of weights cannot hold the ${parameters} parameters config.json describes (${smallest} to ${largest} bytes)`,
    });
  }
  if (weightsSha256 !== undefined && shardOf === undefined && files.manifest === undefined && (await streamedSha256(weightsPath)) !== weightsSha256) {
    throw new FileFormatError({ path: weightsPath, reason: 'corrupt', message: 'SHA-256 differs from the one recorded in config.json' });
  }

  const opened: WeightsFile[] = [];
  try {
    for (const name of shardNames) {
      const file = await openWeightsFile(files, name, sizes.get(name) as number);
      opened.push(file);
      if (weightsSha256 !== undefined && shardOf === undefined && files.manifest !== undefined) {
        const bytes = await file.read(0, sizes.get(name) as number);
        if (sha256Hex(bytes) !== weightsSha256) throw new FileFormatError({ path: weightsPath, reason: 'corrupt', message: 'SHA-256 differs from the one recorded in config.json' });
      }
    }
    // Every header checked against the configuration before the first weight is read.
    const expected = weightShapes(config);
    const located = new Map<string, { file: WeightsFile; entry: SafetensorsEntry }>();
    for (const file of opened) {
      for (const entry of file.header.entries) {
        if (isIgnoredTensor(entry.name)) continue;
        if (!expected.has(entry.name)) throw new FileFormatError({ path: file.path, reason: 'mismatch', message: `unexpected tensor ${entry.name} for this configuration` });
        if (shardOf !== undefined && shardOf.get(entry.name) !== file.name) {
          throw new FileFormatError({ path: file.path, reason: 'mismatch', message: `holds ${entry.name}, which ${checkpointFiles.shardIndex} places in ${String(shardOf.get(entry.name))}` });
        }
        if (located.has(entry.name)) throw new FileFormatError({ path: file.path, reason: 'mismatch', message: `tensor ${entry.name} appears in two files` });
        located.set(entry.name, { file, entry });
      }
    }
    for (const [name, shape] of expected) {
      const found = located.get(name);
      if (found === undefined) throw new FileFormatError({ path: weightsPath, reason: 'mismatch', message: `tensor ${name} is missing` });
      const { entry, file } = found;
      if (entry.shape.length !== shape.length || entry.shape.some((size, index) => size !== shape[index])) {
        throw new FileFormatError({
          path: file.path,
          reason: 'mismatch',
          message: `${name} has shape [${entry.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`,
        });
      }
    }
    try {
      return await LlamaModel.fromWeightReader(runtime, config, async (name) => {
        const { file, entry } = located.get(name) as { file: WeightsFile; entry: SafetensorsEntry };
        const bytes = await file.read(file.header.dataStart + entry.begin, file.header.dataStart + entry.end);
        return decodeSafetensorsValues(bytes, entry, file.path);
      });
    } catch (error) {
      if (CodestackError.isInstance(error)) throw error;
      throw new FileFormatError({ path: weightsPath, reason: 'corrupt', message: `the runtime could not build the model (${(error as Error).message})`, cause: error });
    }
  } finally {
    for (const file of opened) await file.close();
  }
}
