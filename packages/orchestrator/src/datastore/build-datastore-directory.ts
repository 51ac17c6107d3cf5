import { createHash } from 'node:crypto';
import { lstat, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AbortedError, directoryManifestFileName, FileFormatError, InvalidArgumentError, isDirectorySaveEntry, openDirectoryFiles, writeDirectoryAtomic, type Tokenizer } from '@codestack/core';
import { float32ToFloat16Bits, type LlamaModel } from '@codestack/runtime';
import { datastoreBinding, datastoreFormatName, defaultWindowFor, forEachWindow, saveDatastore, TokenDatastore, type DatastoreBinding, type DatastoreMetadata } from './knn-datastore.js';

/** One text a datastore is built from. */
export interface DatastoreSource {
  /** Where it came from (a path); part of the build's identity, so a resumed build reads the same sources. */
  path: string;
  /** Its text. */
  text: string;
}

/** Progress of {@link buildDatastoreDirectory}. */
export interface DatastoreBuildProgress {
  /** Sources done (those of an earlier, interrupted run included). */
  texts: number;
  /** Of how many. */
  total: number;
  /** Pairs stored so far. */
  entries: number;
}

/** Options of {@link buildDatastoreDirectory}. */
export interface BuildDatastoreDirectoryOptions {
  /** The model whose final hidden states become the keys. */
  model: LlamaModel;
  /** Its tokenizer. */
  tokenizer: Tokenizer;
  /** The texts to memorise, in order. */
  sources: readonly DatastoreSource[];
  /** The datastore directory to write (atomically, when the build is complete). */
  out: string;
  /** Tokens per forward pass. Default {@link defaultWindowTokens} (1,024), or the model's context when shorter. */
  windowTokens?: number;
  /** Seconds between two checkpoints of the work done (also written when aborted). Default 60. */
  checkpointSeconds?: number;
  /** Cancels between windows; the work done so far is kept for the next run. */
  signal?: AbortSignal;
  /** Called after every source. */
  onProgress?: (progress: DatastoreBuildProgress) => void;
}

/** What {@link buildDatastoreDirectory} did. */
export interface DatastoreBuildReport {
  /** The datastore's directory. */
  out: string;
  /** Stored (key, next token) pairs: the tokens stored. */
  entries: number;
  /** Sources read. */
  texts: number;
  /** Bytes the keys and values take on disk per token stored (16-bit keys plus a 32-bit value). */
  bytesPerToken: number;
  /** Bytes per token of the saved search graph (hnswlib keeps its own float32 copy of each key and its links). */
  graphBytesPerToken: number;
  /** Sources an earlier, interrupted run had done already (0 for a fresh build). */
  resumedTexts: number;
  /** Seconds this run took. */
  seconds: number;
}

/** The content of a build checkpoint's `progress.json`. */
interface BuildCheckpoint extends DatastoreBinding {
  format: 'codestack-knn-datastore-build';
  version: 1;
  /** SHA-256 over the sources' paths and texts and the window size. */
  sources: string;
  /** Sources done. */
  texts: number;
  /** Pairs stored. */
  entries: number;
  /** The hidden size. */
  dimension: number;
}

const checkpointFile = 'progress.json';
const keysFile = 'keys.f16';
const valuesFile = 'values.i32';

/** The directory that holds an interrupted build of `out`: `out` with `.partial` appended. */
export function datastoreCheckpointDirectory(out: string): string {
  return `${out.replace(/[\\/]+$/, '')}.partial`;
}

function sourcesDigest(sources: readonly DatastoreSource[], windowTokens: number): string {
  const hash = createHash('sha256').update(`window ${windowTokens}\n`);
  for (const source of sources) hash.update(`${source.path}\0${source.text.length}\0`).update(source.text).update('\0');
  return hash.digest('hex');
}

/** The names a build checkpoint directory may hold: its files, its manifest and what an interrupted atomic save leaves. */
function isCheckpointEntry(name: string): boolean {
  return name === checkpointFile || name === keysFile || name === valuesFile || name === directoryManifestFileName || isDirectorySaveEntry(name);
}

/**
 * Removes `directory` when it is recognisably a build checkpoint (of another build, or damaged):
 * a directory holding only a checkpoint's files and what an atomic save of them leaves. Anything
 * else there (a user's directory that happens to be named `<out>.partial`) is refused, not removed.
 */
async function removeStaleCheckpoint(directory: string): Promise<void> {
  const found = await lstat(directory).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (found === undefined) return;
  const foreign = found.isDirectory() ? (await readdir(directory)).filter((name) => !isCheckpointEntry(name)) : [];
  if (!found.isDirectory() || foreign.length > 0) {
    throw new InvalidArgumentError({
      argument: 'out',
      message: `${directory} exists and is not a datastore build checkpoint (${found.isDirectory() ? `it holds ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}` : 'it is not a directory'}); it is where this build keeps its checkpoint: move it away or choose another --out`,
    });
  }
  await rm(directory, { recursive: true, force: true });
}

/** Reads a checkpoint that matches this build, or `undefined` (none, or one of another build, which is replaced). */
async function readCheckpoint(directory: string, expected: Omit<BuildCheckpoint, 'texts' | 'entries'>): Promise<{ checkpoint: BuildCheckpoint; keys: Uint16Array; values: Int32Array } | undefined> {
  let files;
  try {
    files = await openDirectoryFiles(directory);
    if (files.manifest === undefined) return undefined;
    const checkpoint = JSON.parse(new TextDecoder().decode(await files.read(checkpointFile, { maximumBytes: 1 << 16 }))) as BuildCheckpoint | null;
    if (typeof checkpoint !== 'object' || checkpoint === null) return undefined;
    const matches =
      checkpoint.format === expected.format &&
      checkpoint.version === expected.version &&
      checkpoint.sources === expected.sources &&
      checkpoint.weights === expected.weights &&
      checkpoint.tokenizer === expected.tokenizer &&
      checkpoint.encoding === expected.encoding &&
      checkpoint.dimension === expected.dimension &&
      Number.isInteger(checkpoint.texts) &&
      checkpoint.texts >= 0 &&
      Number.isInteger(checkpoint.entries) &&
      checkpoint.entries >= 0;
    if (!matches) return undefined;
    if ((await files.size(keysFile)) !== checkpoint.entries * checkpoint.dimension * 2 || (await files.size(valuesFile)) !== checkpoint.entries * 4) return undefined;
    const keys = new Uint16Array(new Uint8Array(await files.read(keysFile)).buffer);
    const values = new Int32Array(new Uint8Array(await files.read(valuesFile)).buffer);
    return { checkpoint, keys, values };
  } catch (error) {
    // A missing or damaged checkpoint only means starting over.
    if (FileFormatError.isInstance(error) || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** Growable storage of keys (float16 bits) and values. */
class EntryBuffer {
  keys: Uint16Array;
  values: Int32Array;
  entries = 0;

  constructor(
    readonly dimension: number,
    keys?: Uint16Array,
    values?: Int32Array,
  ) {
    this.keys = keys ?? new Uint16Array(1024 * dimension);
    this.values = values ?? new Int32Array(1024);
    this.entries = values?.length ?? 0;
  }

  add(hidden: Float32Array, nextTokens: readonly number[]): void {
    const needed = this.entries + nextTokens.length;
    if (needed > this.values.length) {
      const capacity = Math.max(needed, this.values.length * 2);
      const keys = new Uint16Array(capacity * this.dimension);
      keys.set(this.keys.subarray(0, this.entries * this.dimension));
      const values = new Int32Array(capacity);
      values.set(this.values.subarray(0, this.entries));
      this.keys = keys;
      this.values = values;
    }
    const offset = this.entries * this.dimension;
    for (let index = 0; index < nextTokens.length * this.dimension; index++) this.keys[offset + index] = float32ToFloat16Bits(hidden[index]!);
    this.values.set(nextTokens, this.entries);
    this.entries = needed;
  }

  /** Drops the entries after `entries` (those of a source that was not finished). */
  truncate(entries: number): void {
    this.entries = entries;
  }

  bytes(): { keys: Uint8Array; values: Uint8Array } {
    const keys = this.keys.subarray(0, this.entries * this.dimension);
    const values = this.values.subarray(0, this.entries);
    return { keys: new Uint8Array(keys.buffer, keys.byteOffset, keys.byteLength), values: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
  }
}

/**
 * Builds a kNN-LM datastore from `sources` into the directory `out`, resumably: the work done is
 * checkpointed (atomically) into `out.partial` every `checkpointSeconds` and when `signal` aborts
 * (a source half done is redone), and a later call with the same model, tokenizer, sources and
 * window continues from there. The datastore itself is written atomically once complete (see
 * `saveDatastore`), and the checkpoint is then removed. Throws `AbortedError` when aborted.
 */
export async function buildDatastoreDirectory(options: BuildDatastoreDirectoryOptions): Promise<DatastoreBuildReport> {
  const started = performance.now();
  const { model, tokenizer, sources } = options;
  const dimension = model.config.hiddenSize;
  const windowTokens = options.windowTokens ?? defaultWindowFor(model);
  if (!Number.isInteger(windowTokens) || windowTokens < 2 || windowTokens > model.config.maximumContext) {
    throw new InvalidArgumentError({ argument: 'windowTokens', message: `expected an integer in [2, ${model.config.maximumContext}], got ${windowTokens}` });
  }
  const checkpointSeconds = options.checkpointSeconds ?? 60;
  if (!(checkpointSeconds >= 0)) throw new InvalidArgumentError({ argument: 'checkpointSeconds', message: `expected a non-negative number, got ${checkpointSeconds}` });
  const partial = datastoreCheckpointDirectory(options.out);
  const binding = datastoreBinding(model, tokenizer);
  const identity = { format: 'codestack-knn-datastore-build' as const, version: 1 as const, ...binding, sources: sourcesDigest(sources, windowTokens), dimension };
  const resumed = await readCheckpoint(partial, identity);
  if (resumed === undefined) await removeStaleCheckpoint(partial);
  const buffer = new EntryBuffer(dimension, resumed?.keys, resumed?.values);
  const resumedTexts = Math.min(resumed?.checkpoint.texts ?? 0, sources.length);
  let done = resumedTexts;
  let lastCheckpoint = performance.now();
  const checkpoint = async (): Promise<void> => {
    const { keys, values } = buffer.bytes();
    const state: BuildCheckpoint = { ...identity, texts: done, entries: buffer.entries };
    await writeDirectoryAtomic(
      partial,
      new Map<string, string | Uint8Array>([
        [keysFile, keys],
        [valuesFile, values],
        [checkpointFile, `${JSON.stringify(state, null, 2)}\n`],
      ]),
    );
    lastCheckpoint = performance.now();
  };
  for (let index = done; index < sources.length; index++) {
    const before = buffer.entries;
    try {
      await forEachWindow(model, tokenizer.encode(sources[index]!.text), windowTokens, options.signal, (hidden, nextTokens) => buffer.add(hidden, nextTokens));
    } catch (error) {
      buffer.truncate(before);
      if (AbortedError.isInstance(error) && done > resumedTexts) await checkpoint();
      throw error;
    }
    done = index + 1;
    options.onProgress?.({ texts: done, total: sources.length, entries: buffer.entries });
    if (done < sources.length && (performance.now() - lastCheckpoint) / 1000 >= checkpointSeconds) await checkpoint();
  }
  const metadata: DatastoreMetadata = { format: datastoreFormatName, version: 1, ...binding, entries: buffer.entries, dimension, texts: sources.length };
  let datastore: TokenDatastore;
  try {
    datastore = await TokenDatastore.create(metadata, buffer.keys.subarray(0, buffer.entries * dimension), buffer.values.subarray(0, buffer.entries), options.signal ? { signal: options.signal } : {});
  } catch (error) {
    // Every source is done: a resumed run only builds the graph.
    if (AbortedError.isInstance(error) && done > resumedTexts) await checkpoint();
    throw error;
  }
  await saveDatastore(datastore, options.out);
  await rm(partial, { recursive: true, force: true });
  const graphBytes = (await stat(join(options.out, 'graph.hnsw')).catch(() => undefined))?.size ?? 0;
  return {
    out: options.out,
    entries: buffer.entries,
    texts: sources.length,
    bytesPerToken: dimension * 2 + 4,
    graphBytesPerToken: buffer.entries === 0 ? 0 : graphBytes / buffer.entries,
    resumedTexts,
    seconds: (performance.now() - started) / 1000,
  };
}

