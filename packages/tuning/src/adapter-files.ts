import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CodestackError,
  FileFormatError,
  InvalidArgumentError,
  openDirectoryFiles,
  sha256Hex,
  throwIfAborted,
  writeDirectoryAtomic,
  type DirectoryFiles,
} from '@codestack/core';
import { decodeSafetensors, encodeSafetensors, LlamaModel } from '@codestack/runtime';
import { fromPeftConfig, resolveAdapterConfig, toPeftConfig, type ResolvedAdapterConfig } from './adapter-config.js';
import { Adapter } from './adapter.js';
import { AdapterStateError } from './adapter-state-error.js';
import { fingerprintModel } from './base-model-fingerprint.js';
import { mergedAdapters } from './merge-adapter.js';

/** The file names of an adapter directory (as PEFT names them). */
export const adapterFiles = { config: 'adapter_config.json', weights: 'adapter_model.safetensors' } as const;

/** Options of {@link saveAdapter}. */
export interface SaveAdapterOptions {
  /** Tensor dtype in `adapter_model.safetensors`: `F32` (default) or `F16`. */
  dtype?: 'F32' | 'F16';
  /** The base model's fingerprint, when already computed with `fingerprintModel` (saves hashing the weights again). */
  baseFingerprint?: string;
}

/** Options of {@link loadAdapter}. */
export interface LoadAdapterOptions {
  /** A name for the adapter (routing, messages). Default: the directory's last path segment. */
  name?: string;
  /** The base model's fingerprint, when already computed (saves hashing the weights for every adapter). */
  baseFingerprint?: string;
  /** Cancels the load between steps. */
  signal?: AbortSignal;
}

/** What {@link saveAdapter} wrote. */
export interface SavedAdapter {
  /** Path of `adapter_config.json`. */
  configPath: string;
  /** Path of `adapter_model.safetensors`. */
  weightsPath: string;
  /** Size of `adapter_model.safetensors` in bytes. */
  weightsBytes: number;
  /** The recorded base-model fingerprint. */
  baseFingerprint: string;
}

/** The largest `adapter_config.json` a load reads (1 MiB). */
const maximumAdapterConfigBytes = 1 << 20;
/** The most header bytes an adapter weights file may add to its tensor data (16 MiB). */
const maximumWeightsHeaderBytes = 16 * 1024 * 1024;

/** What {@link encodeAdapterFiles} produced. */
export interface EncodedAdapterFiles {
  /** `adapter_config.json` and `adapter_model.safetensors` by name. */
  files: Map<string, Uint8Array>;
  /** The recorded base-model fingerprint. */
  baseFingerprint: string;
}

/**
 * The files of a PEFT directory for `adapter` (trained on `model`), as {@link saveAdapter}
 * writes them: `adapter_model.safetensors` with PEFT tensor names and layouts, and
 * `adapter_config.json` with PEFT's fields plus `codestack_base_model_fingerprint` (see
 * `fingerprintModel`) and `codestack_adapter_sha256` (the SHA-256 of the safetensors file).
 * Throws {@link AdapterStateError} while any adapter is merged into `model` (its weights are
 * then not the base's).
 */
export function encodeAdapterFiles(adapter: Adapter, model: LlamaModel, options: SaveAdapterOptions = {}): EncodedAdapterFiles {
  adapter.assertUsable();
  const dtype = options.dtype ?? 'F32';
  if (dtype !== 'F32' && dtype !== 'F16') throw new InvalidArgumentError({ argument: 'dtype', message: `expected F32 or F16, got ${String(dtype)}` });
  if (!adapter.fits(model)) throw new InvalidArgumentError({ argument: 'model', message: `adapter ${adapter.name} was not made for a model of this shape` });
  if (mergedAdapters(model).length > 0) {
    throw new AdapterStateError({ message: 'an adapter is merged into the model; unmerge it so that the base fingerprint describes the base weights' });
  }
  const baseFingerprint = options.baseFingerprint ?? fingerprintModel(model);
  const bytes = encodeSafetensors(adapter.exportTensors(), { dtype, metadata: { format: 'pt', producer: '@codestack/tuning' } });
  const json = {
    ...toPeftConfig(adapter.config),
    codestack_base_model_fingerprint: baseFingerprint,
    codestack_adapter_sha256: sha256Hex(bytes),
    codestack_format_version: 1,
  };
  const files = new Map([
    [adapterFiles.config, new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`)],
    [adapterFiles.weights, bytes],
  ]);
  return { files, baseFingerprint };
}

/**
 * Saves `adapter` (trained on `model`) as a PEFT directory (see {@link encodeAdapterFiles}) in
 * one atomic step with `writeDirectoryAtomic`: `codestack-manifest.json` records the SHA-256 and
 * size of both files, and a crash at any point leaves the previous adapter or this one, never a
 * mix. Leftovers of interrupted saves are removed.
 */
export async function saveAdapter(adapter: Adapter, model: LlamaModel, directory: string, options: SaveAdapterOptions = {}): Promise<SavedAdapter> {
  const { files, baseFingerprint } = encodeAdapterFiles(adapter, model, options);
  await writeDirectoryAtomic(directory, files);
  return {
    configPath: join(directory, adapterFiles.config),
    weightsPath: join(directory, adapterFiles.weights),
    weightsBytes: files.get(adapterFiles.weights)!.length,
    baseFingerprint,
  };
}

interface RawAdapterConfig {
  json: Record<string, unknown>;
  baseFingerprint: string | undefined;
  weightsSha256: string | undefined;
}

async function readRawConfig(files: DirectoryFiles): Promise<RawAdapterConfig> {
  const path = join(files.directory, adapterFiles.config);
  const bytes = await files.read(adapterFiles.config, { maximumBytes: maximumAdapterConfigBytes });
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Record<string, unknown>;
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TypeError('not an object');
  } catch (error) {
    throw new FileFormatError({ path, reason: 'corrupt', message: 'adapter_config.json is not a JSON object', cause: error });
  }
  const hash = (key: string): string | undefined => {
    const value = json[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) throw new FileFormatError({ path, reason: 'corrupt', message: `${key} is not a SHA-256` });
    return value;
  };
  return { json, baseFingerprint: hash('codestack_base_model_fingerprint'), weightsSha256: hash('codestack_adapter_sha256') };
}

function resolveRaw(raw: RawAdapterConfig, layerCount: number, path: string): ResolvedAdapterConfig {
  try {
    return resolveAdapterConfig(fromPeftConfig(raw.json), layerCount);
  } catch (error) {
    throw new FileFormatError({ path, reason: 'mismatch', message: `unusable adapter configuration for this model (${(error as Error).message})`, cause: error });
  }
}

/**
 * Reads and validates an adapter directory's `adapter_config.json` against a model of
 * `layerCount` layers (checked against `codestack-manifest.json` when the directory has one).
 */
export async function readAdapterConfig(
  directory: string,
  layerCount: number,
): Promise<{ config: ResolvedAdapterConfig; baseFingerprint: string | undefined; weightsSha256: string | undefined }> {
  const raw = await readRawConfig(await openDirectoryFiles(directory));
  return { config: resolveRaw(raw, layerCount, join(directory, adapterFiles.config)), baseFingerprint: raw.baseFingerprint, weightsSha256: raw.weightsSha256 };
}

/** The number of values an adapter with `config` holds on `model`, from the model's actual weight shapes (Qwen3's q_proj is [heads * head_dim, hidden]). */
function adapterParameterCount(config: ResolvedAdapterConfig, model: LlamaModel): number {
  let total = 0;
  for (const layer of config.layers) {
    for (const name of config.targetModules) {
      const [input, output] = model.getWeight(LlamaModel.projectionWeightName(layer, name)).shape as [number, number];
      if (config.method === 'lora') total += config.r * (input + output);
      else total += config.feedforwardModules.includes(name) ? input : output;
    }
  }
  return total;
}

/**
 * Loads an adapter directory onto `model` (the adapter is created, not installed: use an
 * `AdapterSet` or `model.linearHook = adapter.hook`). In order, before anything is allocated or
 * compiled: `codestack-manifest.json`, when present, must list both files with their exact size
 * and SHA-256 (a plain PEFT directory has none and is read without that check);
 * `adapter_config.json` (at most 1 MiB) must be a JSON object, and its recorded base
 * fingerprint must be `model`'s; only then is the configuration resolved (a `target_modules`
 * pattern is matched in linear time, see `compileModuleNamePattern`); the weights file's size
 * must fit the parameter count the configuration implies; its SHA-256 must match
 * `codestack_adapter_sha256` when recorded; every tensor must be finite and of the right shape.
 * Refusals, all {@link FileFormatError}: `MISSING_FILE` for an absent file; `CORRUPT_FILE` for
 * bad JSON, damaged safetensors, non-finite values or a checksum mismatch; `MISMATCHED_FILE`
 * when the recorded base fingerprint is not `model`'s, the configuration is unusable or out of
 * bounds, or tensors are missing, unexpected or of the wrong shape.
 */
export async function loadAdapter(model: LlamaModel, directory: string, options: LoadAdapterOptions = {}): Promise<Adapter> {
  throwIfAborted(options.signal, 'loadAdapter');
  const files = await openDirectoryFiles(directory);
  const raw = await readRawConfig(files);
  const configPath = join(directory, adapterFiles.config);
  if (raw.baseFingerprint !== undefined) {
    const actual = options.baseFingerprint ?? fingerprintModel(model);
    if (actual !== raw.baseFingerprint) {
      throw new FileFormatError({
        path: configPath,
        reason: 'mismatch',
        message: `the adapter was trained on base ${raw.baseFingerprint.slice(0, 12)}…, this model is ${actual.slice(0, 12)}…`,
      });
    }
  }
  const config = resolveRaw(raw, model.config.layers, configPath);
  throwIfAborted(options.signal, 'loadAdapter');
  const weightsPath = join(directory, adapterFiles.weights);
  const parameters = adapterParameterCount(config, model);
  const size = await files.size(adapterFiles.weights);
  const smallest = 8 + 2 * parameters;
  const largest = 8 + maximumWeightsHeaderBytes + 4 * parameters;
  if (size < smallest || size > largest) {
    throw new FileFormatError({
      path: weightsPath,
      reason: 'mismatch',
      message: `${size} bytes cannot hold the ${parameters} values adapter_config.json describes (${smallest} to ${largest} bytes)`,
    });
  }
  const bytes = await files.read(adapterFiles.weights, { maximumBytes: largest });
  if (raw.weightsSha256 !== undefined && sha256Hex(bytes) !== raw.weightsSha256) {
    throw new FileFormatError({ path: weightsPath, reason: 'corrupt', message: 'SHA-256 differs from the one recorded in adapter_config.json' });
  }
  const { tensors } = decodeSafetensors(bytes, weightsPath);
  const name = options.name ?? directory.split(/[\\/]/).filter((part) => part.length > 0).pop() ?? 'adapter';
  let adapter: Adapter;
  try {
    adapter = Adapter.fromTensors(model, config, tensors, { name });
  } catch (error) {
    if (InvalidArgumentError.isInstance(error)) throw new FileFormatError({ path: weightsPath, reason: 'mismatch', message: error.message, cause: error });
    if (CodestackError.isInstance(error)) throw error;
    throw new FileFormatError({ path: weightsPath, reason: 'corrupt', message: `the runtime could not build the adapter (${(error as Error).message})`, cause: error });
  }
  adapter.baseFingerprint = raw.baseFingerprint;
  return adapter;
}

/** The size in bytes of an adapter directory's `adapter_model.safetensors`. */
export async function adapterFileSize(directory: string): Promise<number> {
  const path = join(directory, adapterFiles.weights);
  try {
    return (await stat(path)).size;
  } catch (error) {
    throw new FileFormatError({ path, reason: 'missing', message: 'cannot stat the file', cause: error });
  }
}
