import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FileFormatError,
  InvalidArgumentError,
  sha256Hex,
  writeFileAtomic,
  type LanguageModelCallOptions,
  type LanguageModelGenerateResult,
  type LanguageModelStreamPart,
} from '@codestack/core';
import type { LanguageModelMiddleware } from '../models/wrap-language-model.js';

/** Where {@link cacheMiddleware} keeps results. */
export interface CacheStore {
  /** The result stored under `key`, if any. */
  get(key: string): Promise<LanguageModelGenerateResult | undefined>;
  /** Stores a result. */
  set(key: string, value: LanguageModelGenerateResult): Promise<void>;
}

/** An in-memory {@link CacheStore}. */
export function createMemoryCacheStore(): CacheStore {
  const entries = new Map<string, LanguageModelGenerateResult>();
  return {
    async get(key) {
      return entries.get(key);
    },
    async set(key, value) {
      entries.set(key, value);
    },
  };
}

/**
 * A {@link CacheStore} of one JSON file per key in `directory`, written atomically, each with
 * the SHA-256 of its value. A file whose checksum or key does not match is refused with a
 * `FileFormatError` (`CORRUPT_FILE` / `MISMATCHED_FILE`).
 */
export function createDirectoryCacheStore(directory: string): CacheStore {
  const pathOf = (key: string): string => join(directory, `${key}.json`);
  return {
    async get(key) {
      let text: string;
      try {
        text = await readFile(pathOf(key), 'utf8');
      } catch {
        return undefined;
      }
      let entry: { key?: unknown; sha256?: unknown; value?: unknown };
      try {
        entry = JSON.parse(text) as typeof entry;
      } catch (error) {
        throw new FileFormatError({ path: pathOf(key), reason: 'corrupt', message: 'the cache entry is not JSON', cause: error });
      }
      if (entry.key !== key) throw new FileFormatError({ path: pathOf(key), reason: 'mismatch', message: 'the cache entry belongs to another key' });
      const value = JSON.stringify(entry.value);
      if (typeof entry.sha256 !== 'string' || sha256Hex(value) !== entry.sha256) {
        throw new FileFormatError({ path: pathOf(key), reason: 'corrupt', message: 'the cache entry fails its checksum' });
      }
      return entry.value as LanguageModelGenerateResult;
    },
    async set(key, value) {
      await mkdir(directory, { recursive: true });
      const text = JSON.stringify(value);
      await writeFileAtomic(pathOf(key), JSON.stringify({ key, sha256: sha256Hex(text), value: JSON.parse(text) as unknown }));
    },
  };
}

/**
 * The cache key of a call: the SHA-256 of the model's provider and id and the call options,
 * normalised (keys sorted, the abort signal and undefined values left out, text trimmed of
 * trailing whitespace per line).
 */
export function cacheKey(provider: string, modelId: string, params: LanguageModelCallOptions): string {
  const { abortSignal: _signal, ...rest } = params;
  return sha256Hex(stableStringify({ provider, modelId, params: rest }));
}

function stableStringify(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.replace(/[ \t]+$/gm, ''));
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${stableStringify(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * A content-addressed cache of model results. A hit answers without calling the model (a
 * streamed hit is replayed as one text delta and a finish); a miss calls it and stores the
 * result (a stream is stored once it finishes). Only deterministic calls should be cached: by
 * default a call with `temperature > 0` and no `seed` bypasses the cache.
 */
export function cacheMiddleware({ store, cacheSampledCalls = false }: { store: CacheStore; cacheSampledCalls?: boolean }): LanguageModelMiddleware {
  if (!store || typeof store.get !== 'function' || typeof store.set !== 'function') {
    throw new InvalidArgumentError({ argument: 'store', message: 'must have get and set' });
  }
  const cacheable = (params: LanguageModelCallOptions): boolean =>
    cacheSampledCalls || params.seed !== undefined || params.temperature === undefined || params.temperature === 0;
  return {
    async wrapGenerate({ doGenerate, params, model }) {
      if (!cacheable(params)) return doGenerate();
      const key = cacheKey(model.provider, model.modelId, params);
      const hit = await store.get(key);
      if (hit) return { ...hit, providerMetadata: { ...hit.providerMetadata, codestack: { ...hit.providerMetadata?.codestack, cacheHit: true } } };
      const result = await doGenerate();
      await store.set(key, { text: result.text, finishReason: result.finishReason, usage: result.usage });
      return result;
    },
    async wrapStream({ doStream, params, model }) {
      if (!cacheable(params)) return doStream();
      const key = cacheKey(model.provider, model.modelId, params);
      const hit = await store.get(key);
      if (hit) {
        return {
          stream: new ReadableStream<LanguageModelStreamPart>({
            start(controller) {
              if (hit.text) controller.enqueue({ type: 'text-delta', delta: hit.text });
              controller.enqueue({ type: 'finish', finishReason: hit.finishReason, usage: hit.usage });
              controller.close();
            },
          }),
        };
      }
      const { stream } = await doStream();
      let text = '';
      const recorder = new TransformStream<LanguageModelStreamPart, LanguageModelStreamPart>({
        async transform(part, controller) {
          if (part.type === 'text-delta') text += part.delta;
          if (part.type === 'finish') await store.set(key, { text, finishReason: part.finishReason, usage: part.usage });
          controller.enqueue(part);
        },
      });
      return { stream: stream.pipeThrough(recorder) };
    },
  };
}
