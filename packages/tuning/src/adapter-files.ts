import { readFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FileFormatError, InvalidArgumentError, sha256Hex, throwIfAborted, writeFileAtomic } from '@codestack/core';
import { decodeSafetensors, encodeSafetensors, type LlamaModel } from '@codestack/runtime';
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

/**
 * Saves `adapter` (trained on `model`) as a PEFT directory: `adapter_model.safetensors` with
 * PEFT tensor names and layouts, then `adapter_config.json` with PEFT's fields plus
 * `codestack_base_model_fingerprint` (see `fingerprintModel`) and `codestack_adapter_sha256`
 * (the SHA-256 of the safetensors file). Both files are written atomically, the config last.
 * Throws {@link AdapterStateError} while any adapter is merged into `model` (its weights are
 * then not the base's).
 */
export async function saveAdapter(adapter: Adapter, model: LlamaModel, directory: string, options: SaveAdapterOptions = {}): Promise<SavedAdapter> {
  adapter.assertUsable();
  const dtype = options.dtype ?? 'F32';
  if (dtype !== 'F32' && dtype !== 'F16') throw new InvalidArgumentError({ argument: 'dtype', message: `expected F32 or F16, got ${String(dtype)}` });
  if (!adapter.fits(model)) throw new InvalidArgumentError({ argument: 'model', message: `adapter ${adapter.name} was not made for a model of this shape` });
  if (mergedAdapters(model).length > 0) {
    throw new AdapterStateError({ message: 'an adapter is merged into the model; unmerge it so that the base fingerprint describes the base weights' });
  }
  const baseFingerprint = options.baseFingerprint ?? fingerprintModel(model);
  const bytes = encodeSafetensors(adapter.exportTensors(), { dtype, metadata: { format: 'pt', producer: '@codestack/tuning' } });
  await mkdir(directory, { recursive: true });
  const weightsPath = join(directory, adapterFiles.weights);
  const configPath = join(directory, adapterFiles.config);
  await writeFileAtomic(weightsPath, bytes);
  const json = {
    ...toPeftConfig(adapter.config),
    codestack_base_model_fingerprint: baseFingerprint,
    codestack_adapter_sha256: sha256Hex(bytes),
    codestack_format_version: 1,
  };
  await writeFileAtomic(configPath, `${JSON.stringify(json, null, 2)}\n`);
  return { configPath, weightsPath, weightsBytes: bytes.length, baseFingerprint };
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new FileFormatError({ path, reason: 'missing', message: 'cannot read the file', cause: error });
  }
}

/** Reads and validates an adapter directory's `adapter_config.json` against a model of `layerCount` layers. */
export async function readAdapterConfig(
  directory: string,
  layerCount: number,
): Promise<{ config: ResolvedAdapterConfig; baseFingerprint: string | undefined; weightsSha256: string | undefined }> {
  const path = join(directory, adapterFiles.config);
  const text = new TextDecoder().decode(await readBytes(path));
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TypeError('not an object');
  } catch (error) {
    throw new FileFormatError({ path, reason: 'corrupt', message: 'adapter_config.json is not a JSON object', cause: error });
  }
  let config: ResolvedAdapterConfig;
  try {
    config = resolveAdapterConfig(fromPeftConfig(json), layerCount);
  } catch (error) {
    throw new FileFormatError({ path, reason: 'mismatch', message: `unusable adapter configuration for this model (${(error as Error).message})`, cause: error });
  }
  const fingerprint = json.codestack_base_model_fingerprint;
  const checksum = json.codestack_adapter_sha256;
  return {
    config,
    baseFingerprint: typeof fingerprint === 'string' ? fingerprint : undefined,
    weightsSha256: typeof checksum === 'string' ? checksum : undefined,
  };
}

/**
 * Loads an adapter directory onto `model` (the adapter is created, not installed: use an
 * `AdapterSet` or `model.linearHook = adapter.hook`). Refusals, all {@link FileFormatError}:
 * `MISSING_FILE` for an absent file; `CORRUPT_FILE` for bad JSON, damaged safetensors or a
 * SHA-256 that differs from the recorded one; `MISMATCHED_FILE` when the recorded base
 * fingerprint is not `model`'s, or tensors are missing, unexpected or of the wrong shape.
 * Files without a fingerprint (plain PEFT output) are checked by shape only.
 */
export async function loadAdapter(model: LlamaModel, directory: string, options: LoadAdapterOptions = {}): Promise<Adapter> {
  throwIfAborted(options.signal, 'loadAdapter');
  const { config, baseFingerprint, weightsSha256 } = await readAdapterConfig(directory, model.config.layers);
  const configPath = join(directory, adapterFiles.config);
  if (baseFingerprint !== undefined) {
    const actual = options.baseFingerprint ?? fingerprintModel(model);
    if (actual !== baseFingerprint) {
      throw new FileFormatError({
        path: configPath,
        reason: 'mismatch',
        message: `the adapter was trained on base ${baseFingerprint.slice(0, 12)}…, this model is ${actual.slice(0, 12)}…`,
      });
    }
  }
  throwIfAborted(options.signal, 'loadAdapter');
  const weightsPath = join(directory, adapterFiles.weights);
  const bytes = await readBytes(weightsPath);
  if (weightsSha256 !== undefined && sha256Hex(bytes) !== weightsSha256) {
    throw new FileFormatError({ path: weightsPath, reason: 'corrupt', message: 'SHA-256 differs from the one recorded in adapter_config.json' });
  }
  const { tensors } = decodeSafetensors(bytes, weightsPath);
  const name = options.name ?? directory.split(/[\\/]/).filter((part) => part.length > 0).pop() ?? 'adapter';
  let adapter: Adapter;
  try {
    adapter = Adapter.fromTensors(model, config, tensors, { name });
  } catch (error) {
    if (!InvalidArgumentError.isInstance(error)) throw error;
    throw new FileFormatError({ path: weightsPath, reason: 'mismatch', message: error.message, cause: error });
  }
  adapter.baseFingerprint = baseFingerprint;
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
