import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  AbortedError,
  createProgressReporter,
  FileFormatError,
  InvalidArgumentError,
  type ProgressReporter,
} from '@codestack/core';
import { assertString, assertWholeNumber } from './argument-checks.js';
import { CorpusEncoderError } from './corpus-encoder-error.js';
import type { CorpusWorkerRequest, CorpusWorkerResponse } from './corpus-encoder-worker.js';
import { getTokenizer } from './openai-tokenizer.js';

/** Options of {@link createCorpusEncoder}. */
export interface CorpusEncoderOptions {
  /** An encoding or model name, as for {@link getTokenizer}. */
  encoding: string;
  /** Worker threads to use (default: the machine's available parallelism). */
  workers?: number;
}

/** Options of one corpus job. */
export interface CorpusJobOptions {
  /** Cancels the job (it then rejects with `ABORTED`). */
  signal?: AbortSignal;
  /** Report progress (characters done) on stderr, as a bar on a TTY or JSON lines otherwise. */
  progress?: boolean;
  /** Report progress as JSON lines even on a TTY (implies `progress`). */
  json?: boolean;
  /** Report progress here instead (overrides `progress`/`json`). */
  reporter?: ProgressReporter;
  /** Target characters per piece when one big text is split (default 256 Ki characters). */
  pieceCharacters?: number;
}

/** What {@link CorpusEncoder.countFrequencies} takes: texts, files, or both. */
export interface CorpusInput {
  /** Texts, each encoded whole (a long one is split at safe points). */
  texts?: readonly string[];
  /** UTF-8 files, read by the workers. */
  files?: readonly string[];
}

/** Encodes large corpora across worker threads; made by {@link createCorpusEncoder}. */
export interface CorpusEncoder {
  /** The encoding used. */
  readonly encodingName: string;
  /** The number of worker threads. */
  readonly workerCount: number;
  /**
   * Encodes one (large) text. It is split at points where no BPE pre-token can cross (a line
   * break followed by an ASCII letter), so the result equals the single-threaded encoding exactly.
   */
  encodeText(text: string, options?: CorpusJobOptions): Promise<Uint32Array>;
  /** Encodes many texts, each whole; results in input order. */
  encodeTexts(texts: readonly string[], options?: CorpusJobOptions): Promise<Uint32Array[]>;
  /** Encodes UTF-8 files (read by the workers); results in input order. Missing files: `MISSING_FILE`. */
  encodeFiles(paths: readonly string[], options?: CorpusJobOptions): Promise<Uint32Array[]>;
  /** How often each token id occurs over the corpus (an array of `vocabularySize` counts). */
  countFrequencies(input: CorpusInput, options?: CorpusJobOptions): Promise<Uint32Array>;
  /** Waits for the worker threads to start (they start on first use otherwise). */
  warmUp(): Promise<void>;
  /** Stops the worker threads. */
  close(): Promise<void>;
}

interface PendingJob {
  request: CorpusWorkerRequest;
  resolve: (response: CorpusWorkerResponse) => void;
  reject: (error: unknown) => void;
}

interface WorkerSlot {
  worker: Worker;
  ready: Promise<void>;
  busy: PendingJob | undefined;
  /** Jobs that must run on this worker (its frequency table). */
  pinned: PendingJob[];
}

/** Where the worker's built JavaScript is: beside this file in `dist`, or in `dist` when run from `src`. */
function workerFile(): string {
  const here = import.meta.url;
  const url = here.endsWith('.ts')
    ? new URL('../dist/corpus-encoder-worker.js', here)
    : new URL('./corpus-encoder-worker.js', here);
  return fileURLToPath(url);
}

/**
 * Creates a pool of worker threads that encode with one encoding. Reuse it for several jobs; call
 * `close()` when done. Runs from the built package: the workers load `dist/corpus-encoder-worker.js`.
 */
export function createCorpusEncoder(options: CorpusEncoderOptions): CorpusEncoder {
  const tokenizer = getTokenizer(options?.encoding);
  const workerCount = options.workers ?? Math.max(1, availableParallelism());
  assertWholeNumber(workerCount, 'workers', 1);
  const file = workerFile();
  let slots: WorkerSlot[] | undefined;
  let queue: PendingJob[] = [];
  let nextId = 0;
  let closed = false;
  // Whether a count job was cut short, leaving partial tables in the workers.
  let countsDirty = false;

  const startWorkers = (): WorkerSlot[] => {
    if (closed) throw new CorpusEncoderError({ message: 'The corpus encoder is closed.' });
    if (slots !== undefined) return slots;
    if (!existsSync(file)) {
      throw new CorpusEncoderError({
        message: `The worker script ${file} is missing: build @codestack/tokenizer first (npm run build -w packages/tokenizer).`,
      });
    }
    slots = Array.from({ length: workerCount }, () => {
      const worker = new Worker(file, {
        workerData: { encodingName: tokenizer.encodingName, vocabularySize: tokenizer.vocabularySize },
      });
      const slot: WorkerSlot = { worker, ready: Promise.resolve(), busy: undefined, pinned: [] };
      slot.ready = new Promise<void>((resolve, reject) => {
        const onMessage = (message: CorpusWorkerResponse): void => {
          if (message.kind === 'ready') {
            worker.off('error', onError);
            // An idle pool does not keep the process alive; a busy one does (see dispatch).
            if (slot.busy === undefined) worker.unref();
            resolve();
          }
        };
        const onError = (error: unknown): void =>
          reject(new CorpusEncoderError({ message: 'A corpus encoder worker failed to start.', cause: error }));
        worker.on('message', onMessage);
        worker.once('error', onError);
      });
      worker.on('message', (message: CorpusWorkerResponse) => {
        if (message.kind === 'ready') return;
        const job = slot.busy;
        slot.busy = undefined;
        job?.resolve(message);
        dispatch();
        if (slot.busy === undefined) worker.unref();
      });
      worker.on('error', (error) => {
        const job = slot.busy;
        slot.busy = undefined;
        job?.reject(new CorpusEncoderError({ message: 'A corpus encoder worker crashed.', cause: error }));
      });
      return slot;
    });
    return slots;
  };

  const dispatch = (): void => {
    if (slots === undefined) return;
    for (const slot of slots) {
      if (slot.busy !== undefined) continue;
      const job = slot.pinned.shift() ?? queue.shift();
      if (job === undefined) continue;
      slot.busy = job;
      slot.worker.ref();
      slot.worker.postMessage(job.request);
    }
  };

  const submit = (
    request: Omit<CorpusWorkerRequest, 'id'>,
    pinTo?: WorkerSlot,
  ): { job: PendingJob; promise: Promise<CorpusWorkerResponse> } => {
    let job!: PendingJob;
    const promise = new Promise<CorpusWorkerResponse>((resolve, reject) => {
      job = { request: { ...request, id: nextId++ } as CorpusWorkerRequest, resolve, reject };
    });
    if (pinTo !== undefined) pinTo.pinned.push(job);
    else queue.push(job);
    return { job, promise };
  };

  /** Runs requests, reporting progress in characters, and rejects on abort or failure. */
  const run = async (
    label: string,
    requests: Omit<CorpusWorkerRequest, 'id'>[],
    totalCharacters: number | undefined,
    jobOptions: CorpusJobOptions,
  ): Promise<CorpusWorkerResponse[]> => {
    const { signal } = jobOptions;
    if (signal?.aborted) throw new AbortedError({ operation: label, cause: signal.reason });
    const reporter =
      jobOptions.reporter ??
      createProgressReporter({
        label,
        total: totalCharacters,
        json: jobOptions.json,
        silent: !(jobOptions.progress === true || jobOptions.json === true),
      });
    const pool = startWorkers();
    await Promise.all(pool.map((slot) => slot.ready));
    if (signal?.aborted) throw new AbortedError({ operation: label, cause: signal.reason });
    const submitted = requests.map((request) => submit(request));
    let completed = 0;
    const tracked = submitted.map(({ promise }) =>
      promise.then((response) => {
        if (response.kind === 'failed') throw toError(response);
        if (response.kind === 'encoded' || response.kind === 'counted') {
          completed += response.characters;
          reporter.update({ completed });
        }
        return response;
      }),
    );
    dispatch();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        const mine = new Set(submitted.map(({ job }) => job));
        queue = queue.filter((job) => !mine.has(job));
        reject(new AbortedError({ operation: label, cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const responses = await Promise.race([Promise.all(tracked), aborted]);
      reporter.finish({ characters: completed });
      return responses;
    } catch (error) {
      const mine = new Set(submitted.map(({ job }) => job));
      queue = queue.filter((job) => !mine.has(job));
      for (const { promise } of submitted) promise.catch(() => undefined);
      throw error;
    } finally {
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
      aborted.catch(() => undefined);
    }
  };

  const collectAll = (): Promise<CorpusWorkerResponse[]> =>
    Promise.all(
      startWorkers().map((slot) => {
        const { promise } = submit({ kind: 'collect' }, slot);
        dispatch();
        return promise;
      }),
    );

  /** Each job's tokens, split back into one array per text of the job. */
  const encoded = (responses: readonly CorpusWorkerResponse[]): Uint32Array[] =>
    responses.flatMap((response) => {
      if (response.kind !== 'encoded') return [];
      const arrays: Uint32Array[] = [];
      let offset = 0;
      for (const length of response.lengths) {
        arrays.push(response.tokens.subarray(offset, offset + length));
        offset += length;
      }
      return arrays;
    });

  return {
    encodingName: tokenizer.encodingName,
    workerCount,

    async encodeText(text, jobOptions = {}) {
      assertString(text, 'text');
      const pieces = splitAtSafePoints(text, jobOptions.pieceCharacters ?? defaultPieceCharacters);
      const responses = await run(
        'encode',
        pieces.map((piece) => ({ kind: 'encode', texts: [piece] })),
        text.length,
        jobOptions,
      );
      return concatenate(encoded(responses));
    },

    async encodeTexts(texts, jobOptions = {}) {
      assertArray(texts, 'texts');
      texts.forEach((text, index) => assertString(text, `texts[${index}]`));
      const total = texts.reduce((sum, text) => sum + text.length, 0);
      const batches = batchTexts(texts, jobOptions.pieceCharacters ?? defaultPieceCharacters);
      const responses = await run(
        'encode',
        batches.map((batch) => ({ kind: 'encode', texts: batch })),
        total,
        jobOptions,
      );
      return encoded(responses);
    },

    async encodeFiles(paths, jobOptions = {}) {
      assertArray(paths, 'paths');
      paths.forEach((path, index) => assertString(path, `paths[${index}]`));
      const responses = await run(
        'encode',
        paths.map((path) => ({ kind: 'encode', paths: [path] })),
        undefined,
        jobOptions,
      );
      return encoded(responses);
    },

    async countFrequencies(input, jobOptions = {}) {
      const texts = input?.texts ?? [];
      const files = input?.files ?? [];
      assertArray(texts, 'texts');
      assertArray(files, 'files');
      files.forEach((path, index) => assertString(path, `files[${index}]`));
      if (countsDirty) await collectAll();
      texts.forEach((text, index) => assertString(text, `texts[${index}]`));
      const pieceCharacters = jobOptions.pieceCharacters ?? defaultPieceCharacters;
      // Counts do not depend on where texts are cut, so long texts are split and short ones batched.
      const pieces = texts.flatMap((text) => splitAtSafePoints(text, pieceCharacters));
      const requests = [
        ...batchTexts(pieces, pieceCharacters).map((batch) => ({ kind: 'count' as const, texts: batch })),
        ...files.map((path) => ({ kind: 'count' as const, paths: [path] })),
      ];
      const total = files.length === 0 ? texts.reduce((sum, text) => sum + text.length, 0) : undefined;
      countsDirty = true;
      await run('count', requests, total, jobOptions);
      // Each worker kept its own table; collect and add them up.
      const tables = await collectAll();
      countsDirty = false;
      const frequencies = new Uint32Array(tokenizer.vocabularySize);
      for (const table of tables) {
        if (table.kind !== 'collected') continue;
        for (let id = 0; id < frequencies.length; id++) frequencies[id] = (frequencies[id] as number) + (table.frequencies[id] as number);
      }
      return frequencies;
    },

    async warmUp() {
      await Promise.all(startWorkers().map((slot) => slot.ready));
    },

    async close() {
      closed = true;
      const pool = slots ?? [];
      slots = undefined;
      for (const job of queue) job.reject(new CorpusEncoderError({ message: 'The corpus encoder was closed.' }));
      queue = [];
      await Promise.all(pool.map((slot) => slot.worker.terminate()));
    },
  };
}

const defaultPieceCharacters = 1 << 18;

/** Groups consecutive texts into batches of about `pieceCharacters` (at least one text each). */
function batchTexts(texts: readonly string[], pieceCharacters: number): string[][] {
  const batches: string[][] = [];
  let batch: string[] = [];
  let characters = 0;
  for (const text of texts) {
    if (batch.length > 0 && characters + text.length > pieceCharacters) {
      batches.push(batch);
      batch = [];
      characters = 0;
    }
    batch.push(text);
    characters += text.length;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

function assertArray(value: unknown, argument: string): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError({ argument, message: 'expected an array' });
}

function toError(response: CorpusWorkerResponse & { kind: 'failed' }): Error {
  if (response.code === 'ENOENT' && response.path !== undefined) {
    return new FileFormatError({ path: response.path, reason: 'missing', message: 'no such file' });
  }
  return new CorpusEncoderError({ message: `A corpus encoder worker failed: ${response.message}` });
}

/**
 * Splits text into pieces of about `pieceCharacters` at points where no BPE pre-token of the
 * OpenAI encodings can cross: just after a line break that an ASCII letter follows. Encoding the
 * pieces one by one and joining the tokens equals encoding the whole text.
 */
export function splitAtSafePoints(text: string, pieceCharacters: number): string[] {
  assertWholeNumber(pieceCharacters, 'pieceCharacters', 1);
  const pieces: string[] = [];
  let start = 0;
  while (text.length - start > pieceCharacters) {
    let cut = -1;
    let search = start + pieceCharacters;
    while (search < text.length) {
      const newline = text.indexOf('\n', search);
      if (newline === -1 || newline + 1 >= text.length) break;
      if (isAsciiLetter(text.charCodeAt(newline + 1))) {
        cut = newline + 1;
        break;
      }
      search = newline + 1;
    }
    if (cut === -1) break;
    pieces.push(text.slice(start, cut));
    start = cut;
  }
  pieces.push(text.slice(start));
  return pieces;
}

function isAsciiLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

function concatenate(arrays: readonly Uint32Array[]): Uint32Array {
  const result = new Uint32Array(arrays.reduce((sum, array) => sum + array.length, 0));
  let offset = 0;
  for (const array of arrays) {
    result.set(array, offset);
    offset += array.length;
  }
  return result;
}
