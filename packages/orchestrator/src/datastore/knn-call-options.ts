import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, sha256Hex, type LanguageModelCallOptions } from '@codestack/core';
import type { KnnDatastore } from '@codestack/runtime';
import type { KnnMixingSettings } from './knn-defaults.js';

const marker = Symbol.for('codestack.knn-call-options');

/** A datastore with the size and binding a call reports; `TokenDatastore` is one. */
export interface SizedKnnDatastore extends KnnDatastore {
  /** Stored pairs. */
  readonly size: number;
  /** The manifest binding it to its model's weights, when it has one. */
  readonly metadata?: { readonly weights: string };
  /**
   * A digest of what it holds, when it knows one; see {@link knnDatastoreContentDigest}, which
   * otherwise hashes {@link keys} and {@link values}.
   */
  readonly contentDigest?: string;
  /** The stored keys (a `TokenDatastore`'s float16 bits), hashed for its content digest. */
  readonly keys?: ArrayBufferView;
  /** The stored next tokens, hashed for its content digest. */
  readonly values?: ArrayBufferView;
}

const contentDigests = new WeakMap<object, string>();

function sha256Of(view: ArrayBufferView): string {
  return sha256Hex(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
}

/**
 * The content digest of a datastore whose keys' and values' bytes have these SHA-256s (hex): the
 * same whether hashed here or read from a saved datastore's manifest (`loadDatastore`), which
 * then needs no second pass over the files.
 */
export function datastoreContentDigest(keysSha256: string, valuesSha256: string): string {
  return `sha256:${keysSha256}:${valuesSha256}`;
}

/**
 * What identifies the content of `datastore`, computed once per datastore object: its own
 * `contentDigest` when it has one (a loaded `TokenDatastore` takes it from its manifest); else the
 * SHA-256s of its `keys` and `values` bytes (the same digest, so two loads of the same files and
 * the datastore they were saved from agree, a rebuilt project differs even with as many entries); else, for a datastore that exposes neither, an identifier unique to
 * the object (cache keys then never match across objects or processes: a miss, never a stale hit).
 */
export function knnDatastoreContentDigest(datastore: SizedKnnDatastore): string {
  const known = contentDigests.get(datastore);
  if (known !== undefined) return known;
  let digest: string;
  if (typeof datastore.contentDigest === 'string' && datastore.contentDigest !== '') digest = datastore.contentDigest;
  else if (ArrayBuffer.isView(datastore.keys) && ArrayBuffer.isView(datastore.values)) {
    digest = datastoreContentDigest(sha256Of(datastore.keys), sha256Of(datastore.values));
  } else digest = `object:${randomUUID()}`;
  contentDigests.set(datastore, digest);
  return digest;
}

/**
 * What `providerOptions.codestack.knn` holds: the kNN-LM lookups a local model mixes into its
 * next-token distribution. Make it with {@link createKnnCallOptions} (or `knnDatastoreMiddleware`):
 * the datastore rides along as a live, non-enumerable reference, so the enumerable part, which
 * cache keys and traces serialise, describes it in a few fields. It cannot come over HTTP.
 *
 * Those fields include the datastore's content digest, so `cacheKey` of `cacheMiddleware` tells
 * two datastores of one model apart (a project rebuilt with as many tokens): a persistent cache
 * does not answer from the other's results. That holds when the cache middleware sits inside
 * `knnDatastoreMiddleware` (after it in a `wrapLanguageModel` list, so it sees the options it
 * set); placed outside, its key has no kNN options at all and mixes answers with and without them.
 */
export interface KnnCallOptions {
  /**
   * The datastore's weights fingerprint, size, content digest (see
   * {@link knnDatastoreContentDigest}) and mixing settings, when one is used.
   */
  readonly datastore?: { readonly weights: string | null; readonly entries: number; readonly content: string; readonly settings: KnnMixingSettings };
  /** The continuous cache's settings, when the text before the cursor becomes a cache. */
  readonly cache?: KnnMixingSettings;
}

/** Options of {@link createKnnCallOptions}. */
export interface CreateKnnCallOptions {
  /** A datastore (such as a loaded `TokenDatastore`) and how to mix it. */
  datastore?: { datastore: SizedKnnDatastore; settings: KnnMixingSettings };
  /** With settings: build a continuous cache from the call's text before the cursor and mix it. */
  cache?: KnnMixingSettings;
}

function checkSettings(settings: KnnMixingSettings, what: string): KnnMixingSettings {
  const { lambda, k, temperature } = settings;
  if (!(lambda >= 0 && lambda <= 1)) throw new InvalidArgumentError({ argument: `${what}.lambda`, message: `expected a number in [0, 1], got ${lambda}` });
  if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError({ argument: `${what}.k`, message: `expected a positive integer, got ${k}` });
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new InvalidArgumentError({ argument: `${what}.temperature`, message: `expected a positive number, got ${temperature}` });
  return { lambda, k, temperature };
}

/** Makes the value of `providerOptions.codestack.knn`; see {@link KnnCallOptions}. */
export function createKnnCallOptions(options: CreateKnnCallOptions): KnnCallOptions {
  const value: { datastore?: KnnCallOptions['datastore']; cache?: KnnMixingSettings } = {};
  if (options.datastore !== undefined) {
    const { datastore, settings } = options.datastore;
    if (typeof datastore?.search !== 'function') throw new InvalidArgumentError({ argument: 'datastore', message: 'expected a datastore with search(vector, k)' });
    value.datastore = { weights: datastore.metadata?.weights ?? null, entries: datastore.size, content: knnDatastoreContentDigest(datastore), settings: checkSettings(settings, 'datastore') };
  }
  if (options.cache !== undefined) value.cache = checkSettings(options.cache, 'cache');
  Object.defineProperty(value, marker, { value: options.datastore?.datastore ?? null, enumerable: false });
  return Object.freeze(value);
}

/** The datastore behind `options` (made by {@link createKnnCallOptions}), or `undefined`. */
export function knnCallDatastore(options: KnnCallOptions): SizedKnnDatastore | undefined {
  return ((options as unknown as Record<symbol, SizedKnnDatastore | null>)[marker] ?? undefined) as SizedKnnDatastore | undefined;
}

/**
 * Reads `providerOptions.codestack.knn` and `providerOptions.codestack.textBeforeCursor` of a call:
 * `undefined` without kNN options; a typed error when the value was not made by
 * {@link createKnnCallOptions} (it cannot come from JSON).
 */
export function readKnnCallOptions(call: LanguageModelCallOptions): { knn: KnnCallOptions; textBeforeCursor: string | undefined } | undefined {
  const codestack = call.providerOptions?.codestack;
  const knn = codestack?.knn;
  if (knn === undefined || knn === null) return undefined;
  if (typeof knn !== 'object' || !Object.hasOwn(knn, marker)) {
    throw new InvalidArgumentError({ argument: 'providerOptions.codestack.knn', message: 'expected a value made by createKnnCallOptions or knnDatastoreMiddleware' });
  }
  const text = codestack?.textBeforeCursor;
  if (text !== undefined && typeof text !== 'string') throw new InvalidArgumentError({ argument: 'providerOptions.codestack.textBeforeCursor', message: 'expected a string' });
  return { knn: knn as KnnCallOptions, textBeforeCursor: text };
}
