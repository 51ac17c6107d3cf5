import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFormatError, InvalidArgumentError, openDirectoryFiles, throwIfAborted, writeDirectoryAtomic, type Tokenizer } from '@codestack/core';
import type { HnswVectorIndex } from '@codestack/retrieval';
import { float16BitsToFloat32, float32ToFloat16Bits, type KnnDatastore, type KnnNeighbour, type LlamaModel } from '@codestack/runtime';
import { datastoreContentDigest } from './knn-call-options.js';

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The format name of a datastore's `datastore.json`. */
export const datastoreFormatName = 'codestack-knn-datastore';
const metadataFile = 'datastore.json';
const keysFile = 'keys.f16';
const valuesFile = 'values.i32';
const graphFile = 'graph.hnsw';
/** Text whose token ids identify a tokenizer beyond its encoding name (a compact vocabulary keeps the name of its base). */
const tokenizerProbe = 'export async function readFile(path: string): Promise<Buffer> { return fs.readFile(path); } // déjà vu 42';

/** What binds a datastore to the model and tokenizer that made it. */
export interface DatastoreBinding {
  /** SHA-256 over the model's weights (names, shapes, float32 values); see {@link weightsFingerprint}. */
  weights: string;
  /** The tokenizer's encoding name. */
  encoding: string;
  /** SHA-256 of the token ids of a fixed probe text. */
  tokenizer: string;
}

/** The content of `datastore.json`. */
export interface DatastoreMetadata extends DatastoreBinding {
  format: typeof datastoreFormatName;
  version: 1;
  /** Stored (key, next token) pairs. */
  entries: number;
  /** Key length: the model's hidden size. */
  dimension: number;
  /** Texts the datastore was built from. */
  texts: number;
}

/** SHA-256 over every weight of `model` (sorted names, shapes and float32 values in Hugging Face layout). */
export function weightsFingerprint(model: LlamaModel): string {
  const hash = createHash('sha256');
  const weights = model.exportWeights();
  for (const name of [...weights.keys()].sort()) {
    const weight = weights.get(name)!;
    hash.update(`${name}:${weight.shape.join('x')}\n`);
    hash.update(new Uint8Array(weight.data.buffer, weight.data.byteOffset, weight.data.byteLength));
  }
  return hash.digest('hex');
}

/** What binds a datastore to `model` and `tokenizer`: its weights fingerprint and its tokenization of a probe text. */
export function datastoreBinding(model: LlamaModel, tokenizer: Tokenizer): DatastoreBinding {
  const probe = createHash('sha256').update(JSON.stringify(tokenizer.encode(tokenizerProbe))).digest('hex');
  return { weights: weightsFingerprint(model), encoding: tokenizer.encodingName, tokenizer: probe };
}

/**
 * A kNN-LM datastore (Khandelwal et al. 2020): keys are the model's final hidden states (stored
 * as 16-bit floats), values the token that followed each. Searched through an hnswlib graph by
 * cosine; the distances it reports are the exact squared L2 distances to the (16-bit) keys found,
 * as the kNN-LM uses. Pass it to `KnnLogitsProcessor` of `@codestack/runtime`.
 */
export class TokenDatastore implements KnnDatastore {
  private index: HnswVectorIndex | undefined;

  private constructor(
    readonly metadata: DatastoreMetadata,
    readonly keys: Uint16Array,
    readonly values: Int32Array,
    /** What identifies the keys and values (see `knnDatastoreContentDigest`), when known without hashing them: from a saved datastore's manifest. */
    readonly contentDigest?: string,
  ) {}

  /**
   * Wraps keys (float16 bits, `entries × dimension`) and values with their search graph: the
   * `graph` saved beside them (checked before hnswlib reads it), or without one a graph built now
   * from the keys (`@codestack/retrieval`, an optional peer dependency, is loaded here, not when
   * `/local` is imported). `signal` cancels a build between keys.
   */
  static async create(metadata: DatastoreMetadata, keys: Uint16Array, values: Int32Array, options: { graph?: { bytes: Uint8Array; path: string }; signal?: AbortSignal; contentDigest?: string } = {}): Promise<TokenDatastore> {
    if (keys.length !== metadata.entries * metadata.dimension || values.length !== metadata.entries) {
      throw new InvalidArgumentError({ argument: 'keys', message: `expected ${metadata.entries} keys of ${metadata.dimension} and as many values` });
    }
    const { HnswVectorIndex } = await import('@codestack/retrieval');
    const datastore = new TokenDatastore(metadata, keys, values, options.contentDigest);
    if (options.graph !== undefined) {
      // Entry i is stored under id String(i) and label i: the labels need not be saved.
      const labels = { labels: Array.from({ length: metadata.entries }, (_, entry): [string, number] => [String(entry), entry]), nextLabel: metadata.entries, deletedCount: 0 };
      const bytes = Buffer.from(options.graph.bytes.buffer, options.graph.bytes.byteOffset, options.graph.bytes.byteLength);
      datastore.index = await HnswVectorIndex.fromBytes(bytes, options.graph.path, metadata.dimension, labels);
      return datastore;
    }
    const index = new HnswVectorIndex(metadata.dimension, { initialCapacity: Math.max(1, metadata.entries) });
    for (let entry = 0; entry < metadata.entries; entry++) {
      if (entry % 4096 === 0) {
        await yieldToEventLoop();
        throwIfAborted(options.signal, 'datastore graph build');
      }
      index.upsert(String(entry), datastore.key(entry));
    }
    datastore.index = index;
    return datastore;
  }

  /** The search graph as bytes (hnswlib's format, checked on load), for {@link saveDatastore}. */
  async graphBytes(): Promise<Uint8Array | undefined> {
    return this.index === undefined || this.size === 0 ? undefined : this.index.toBytes(tmpdir());
  }

  /** Stored pairs. */
  get size(): number {
    return this.metadata.entries;
  }

  /** Bytes the keys and values take on disk, per stored token. */
  get bytesPerToken(): number {
    return this.metadata.dimension * 2 + 4;
  }

  /** One key, decoded to float32. */
  key(entry: number): Float32Array {
    const { dimension } = this.metadata;
    const key = new Float32Array(dimension);
    for (let index = 0; index < dimension; index++) key[index] = float16BitsToFloat32(this.keys[entry * dimension + index]!);
    return key;
  }

  /** The `k` nearest keys (by the graph's cosine search) with their next tokens and squared L2 distances, nearest first. */
  search(vector: Float32Array, k: number): KnnNeighbour[] {
    if (this.size === 0 || this.index === undefined) return [];
    const hits = this.index.search(vector, { topK: k });
    const neighbours = hits.map((hit) => {
      const entry = Number(hit.id);
      const key = this.key(entry);
      let distance = 0;
      for (let index = 0; index < key.length; index++) distance += (key[index]! - vector[index]!) ** 2;
      return { token: this.values[entry]!, distance };
    });
    return neighbours.sort((left, right) => left.distance - right.distance);
  }
}

/**
 * The window of a datastore or cache build when none is given: 1,024 tokens, or the model's
 * context when shorter. Not the model's whole context: a window's forward holds activations for
 * every position of it at once (a 32,768-token context would be gigabytes for keys whose context
 * gains little past a thousand tokens).
 */
export const defaultWindowTokens = 1024;

/** {@link defaultWindowTokens}, or the model's context when shorter. */
export function defaultWindowFor(model: LlamaModel): number {
  return Math.min(defaultWindowTokens, model.config.maximumContext);
}

/** Progress of {@link buildDatastore}. */
export interface DatastoreProgress {
  /** Texts done. */
  texts: number;
  /** Of how many. */
  total: number;
  /** Pairs stored so far. */
  entries: number;
}

/** Options of {@link buildDatastore}. */
export interface BuildDatastoreOptions {
  /** The model whose final hidden states become the keys. */
  model: LlamaModel;
  /** Its tokenizer. */
  tokenizer: Tokenizer;
  /** The texts to memorise. */
  texts: readonly string[];
  /** Tokens per forward pass (windows overlap by one token so every token but a text's first is stored). Default {@link defaultWindowTokens} (or the model's context when shorter). */
  windowTokens?: number;
  /** Cancels between windows. */
  signal?: AbortSignal;
  /** Called after every text. */
  onProgress?: (progress: DatastoreProgress) => void;
}

/**
 * Runs `model` over `ids` in windows of `windowTokens` that overlap by one token, one forward pass
 * each, and hands `onWindow` the final hidden states (float32, `positions × hiddenSize`) of every
 * position that has a next token in the window, with those next tokens. So every token but the
 * first is the value of exactly one key. Tensors are disposed as it goes; `signal` is checked
 * before every window.
 */
export async function forEachWindow(
  model: LlamaModel,
  ids: readonly number[],
  windowTokens: number,
  signal: AbortSignal | undefined,
  onWindow: (hiddenStates: Float32Array, nextTokens: number[]) => void,
): Promise<void> {
  for (let start = 0; start + 1 < ids.length; ) {
    // A forward pass resolves in microtasks only: let signals (Ctrl-C), timers and I/O run between windows.
    await yieldToEventLoop();
    throwIfAborted(signal, 'datastore build');
    const window = ids.slice(start, start + windowTokens);
    // The hidden states alone: the output head's [window × vocabulary] logits would be discarded.
    const hiddenStates = model.hiddenStates([window]);
    let hidden: Float32Array;
    try {
      hidden = (await hiddenStates.data()) as Float32Array;
    } finally {
      hiddenStates.dispose();
    }
    onWindow(hidden.subarray(0, (window.length - 1) * model.config.hiddenSize), window.slice(1));
    start += window.length - 1;
  }
}

/**
 * Runs the model over `texts` and stores, for every position, its final hidden state (the key,
 * rounded to 16 bits) and the next token (the value). One forward pass per window; tensors are
 * disposed as it goes.
 */
export async function buildDatastore(options: BuildDatastoreOptions): Promise<TokenDatastore> {
  const { model, tokenizer } = options;
  const dimension = model.config.hiddenSize;
  const windowTokens = options.windowTokens ?? defaultWindowFor(model);
  if (!Number.isInteger(windowTokens) || windowTokens < 2 || windowTokens > model.config.maximumContext) {
    throw new InvalidArgumentError({ argument: 'windowTokens', message: `expected an integer in [2, ${model.config.maximumContext}], got ${windowTokens}` });
  }
  const keyChunks: Uint16Array[] = [];
  const values: number[] = [];
  for (const [textIndex, text] of options.texts.entries()) {
    await forEachWindow(model, tokenizer.encode(text), windowTokens, options.signal, (hidden, nextTokens) => {
      const chunk = new Uint16Array(nextTokens.length * dimension);
      for (let index = 0; index < chunk.length; index++) chunk[index] = float32ToFloat16Bits(hidden[index]!);
      keyChunks.push(chunk);
      values.push(...nextTokens);
    });
    options.onProgress?.({ texts: textIndex + 1, total: options.texts.length, entries: values.length });
  }
  const metadata: DatastoreMetadata = { format: datastoreFormatName, version: 1, ...datastoreBinding(model, tokenizer), entries: values.length, dimension, texts: options.texts.length };
  const keys = new Uint16Array(values.length * dimension);
  let offset = 0;
  for (const chunk of keyChunks) {
    keys.set(chunk, offset);
    offset += chunk.length;
  }
  return TokenDatastore.create(metadata, keys, Int32Array.from(values));
}

/**
 * Writes `datastore` to `directory` atomically (manifest-committed): `datastore.json`, `keys.f16`,
 * `values.i32` and, for a {@link TokenDatastore}, its search graph `graph.hnsw`, so a load does not
 * rebuild it.
 */
export async function saveDatastore(datastore: Pick<TokenDatastore, 'metadata' | 'keys' | 'values'> & { graphBytes?: () => Promise<Uint8Array | undefined> }, directory: string): Promise<void> {
  const keys = new Uint8Array(datastore.keys.buffer, datastore.keys.byteOffset, datastore.keys.byteLength);
  const values = new Uint8Array(datastore.values.buffer, datastore.values.byteOffset, datastore.values.byteLength);
  const graph = await datastore.graphBytes?.();
  await writeDirectoryAtomic(
    directory,
    new Map<string, string | Uint8Array>([
      [keysFile, new Uint8Array(keys)],
      [valuesFile, new Uint8Array(values)],
      ...(graph === undefined ? [] : [[graphFile, graph] as [string, Uint8Array]]),
      [metadataFile, `${JSON.stringify(datastore.metadata, null, 2)}\n`],
    ]),
  );
}

/** The most entries a datastore holds (the search graph's capacity limit, 16,777,216). */
const maximumEntries = 1 << 24;
/** The largest key dimension accepted (the search graph's limit). */
const maximumKeyDimension = 65_536;
/** hnswlib's largest graph degree accepted by `@codestack/retrieval`. */
const maximumGraphDegree = 128;

/**
 * An upper bound on the bytes of the search graph of `metadata`'s entries, checked before it is
 * read: a header, and for twice the entries (capacity grows) a level-0 record (the vector, its
 * label, its links at degree 2M) plus as much again for the links of the upper levels.
 */
function graphByteBound(metadata: DatastoreMetadata): number {
  const linkBytes = 4 + 2 * maximumGraphDegree * 4;
  return 4096 + 2 * Math.max(16, metadata.entries) * (metadata.dimension * 4 + 8 + 2 * linkBytes);
}

/** Checks the fields of a parsed `datastore.json` by type and range, so a bad one is a `FileFormatError`, not a `TypeError`. */
function checkMetadata(parsed: unknown, path: string): DatastoreMetadata {
  const corrupt = (message: string): FileFormatError => new FileFormatError({ path, reason: 'corrupt', message });
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw corrupt(`is not a version 1 ${datastoreFormatName}`);
  const metadata = parsed as Record<string, unknown>;
  if (metadata.format !== datastoreFormatName || metadata.version !== 1) throw corrupt(`is not a version 1 ${datastoreFormatName}`);
  const integer = (field: string, minimum: number, maximum: number): void => {
    const value = metadata[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum || value > maximum) throw corrupt(`${field} must be an integer in [${minimum}, ${maximum}], got ${JSON.stringify(value)}`);
  };
  integer('entries', 0, maximumEntries);
  integer('dimension', 1, maximumKeyDimension);
  integer('texts', 0, Number.MAX_SAFE_INTEGER);
  for (const field of ['weights', 'encoding', 'tokenizer']) {
    const value = metadata[field];
    if (typeof value !== 'string' || value.length === 0 || value.length > 1024) throw corrupt(`${field} must be a non-empty string, got ${JSON.stringify(value)?.slice(0, 64)}`);
  }
  return metadata as unknown as DatastoreMetadata;
}

/** Options of {@link loadDatastore}. */
export interface LoadDatastoreOptions {
  /** The model the datastore will serve; its weights must be those it was built with. */
  model: LlamaModel;
  /** Its tokenizer; it must tokenize as the one the datastore was built with. */
  tokenizer: Tokenizer;
}

/**
 * Reads a datastore written by {@link saveDatastore}, checked against its manifest. Refuses
 * (`MISMATCHED_FILE`) a datastore built with other weights or another tokenizer, and
 * (`CORRUPT_FILE`) one whose files do not agree.
 */
export async function loadDatastore(directory: string, options: LoadDatastoreOptions): Promise<TokenDatastore> {
  const files = await openDirectoryFiles(directory);
  const path = join(directory, metadataFile);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(await files.read(metadataFile, { maximumBytes: 1 << 16 })));
  } catch (error) {
    if (FileFormatError.isInstance(error)) throw error;
    throw new FileFormatError({ path, reason: 'corrupt', message: 'is not JSON', cause: error });
  }
  const metadata = checkMetadata(parsed, path);
  const binding = datastoreBinding(options.model, options.tokenizer);
  if (metadata.weights !== binding.weights) {
    throw new FileFormatError({ path, reason: 'mismatch', message: `was built with other weights (${metadata.weights.slice(0, 12)}…, this model is ${binding.weights.slice(0, 12)}…); build one for this model (codestack datastore build --model DIR)` });
  }
  if (metadata.encoding !== binding.encoding || metadata.tokenizer !== binding.tokenizer) {
    throw new FileFormatError({ path, reason: 'mismatch', message: `was built with another tokenizer (${metadata.encoding}, this one is ${binding.encoding})` });
  }
  if (metadata.dimension !== options.model.config.hiddenSize) {
    throw new FileFormatError({ path, reason: 'mismatch', message: `holds keys of ${metadata.dimension}, the model's hidden size is ${options.model.config.hiddenSize}` });
  }
  // Sizes are checked against what datastore.json implies before a file is read.
  const keyBytes = await files.read(keysFile, { maximumBytes: metadata.entries * metadata.dimension * 2 });
  const valueBytes = await files.read(valuesFile, { maximumBytes: metadata.entries * 4 });
  if (keyBytes.byteLength !== metadata.entries * metadata.dimension * 2 || valueBytes.byteLength !== metadata.entries * 4) {
    throw new FileFormatError({ path, reason: 'corrupt', message: `${keysFile} or ${valuesFile} does not hold ${metadata.entries} entries` });
  }
  const keys = new Uint16Array(new Uint8Array(keyBytes).buffer);
  const values = new Int32Array(new Uint8Array(valueBytes).buffer);
  for (const value of values) {
    if (value < 0 || value >= options.model.config.vocabularySize) throw new FileFormatError({ path, reason: 'corrupt', message: `a stored token ${value} is outside the vocabulary` });
  }
  // A NaN or infinite key would poison the softmax over neighbour distances: exponent bits all ones.
  for (let index = 0; index < keys.length; index++) {
    if ((keys[index]! & 0x7c00) === 0x7c00) {
      throw new FileFormatError({ path: join(directory, keysFile), reason: 'corrupt', message: `key ${Math.floor(index / metadata.dimension)} holds a non-finite value` });
    }
  }
  const graph = files.manifest?.files[graphFile] === undefined ? undefined : { bytes: await files.read(graphFile, { maximumBytes: graphByteBound(metadata) }), path: join(directory, graphFile) };
  // The manifest's SHA-256s, which files.read has just checked the bytes against, identify the content.
  const keysEntry = files.manifest?.files[keysFile];
  const valuesEntry = files.manifest?.files[valuesFile];
  const contentDigest = keysEntry === undefined || valuesEntry === undefined ? undefined : datastoreContentDigest(keysEntry.sha256, valuesEntry.sha256);
  return TokenDatastore.create(metadata, keys, values, { ...(graph === undefined ? {} : { graph }), ...(contentDigest === undefined ? {} : { contentDigest }) });
}
