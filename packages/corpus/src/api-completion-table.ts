import type { Retriever, Tokenizer } from '@codestack/core';
import { parseCompletionCases } from '@codestack/orchestrator/evaluation';
import type { KnnMixingSettings } from '@codestack/orchestrator/local';
import type { KnnDatastore, LlamaModel } from '@codestack/runtime';
import { readApiCompletionFile, type HeldOutDocument } from './api-completion-sets.js';
import { scoreApiCompletion, type ApiCaseResult } from './api-completion-evaluation.js';
import { knnBitsPerByte } from './knn-bits-per-byte.js';

/** One row of the table: which retrieval a configuration uses. */
export interface ApiTableConfiguration {
  name: string;
  /** Which model: the base, or the base with an adapter merged (loaded by the caller). */
  model: LlamaModel;
  docs?: boolean;
  datastore?: KnnMixingSettings;
  cache?: KnnMixingSettings;
}

/** Options of {@link runApiCompletionTable}. */
export interface RunApiCompletionTableOptions {
  tokenizer: Tokenizer;
  setsDirectory: string;
  split: 'validation' | 'test';
  configurations: readonly ApiTableConfiguration[];
  retriever?: Retriever;
  /** The corpus datastore (bound to the base model: only used with the base model). */
  datastore?: KnnDatastore;
  /** Bits per byte of the base model with and without the datastore on the held-out text (test packages). */
  bitsPerByte?: { model: LlamaModel; settings: KnnMixingSettings; cache?: KnnMixingSettings; maximumTokens: number };
  onProgress?: (configuration: string, done: number, total: number) => void;
  signal?: AbortSignal;
}

/** A row of the measured table. */
export interface ApiTableRow {
  name: string;
  cases: number;
  exact: number;
  exactMatch: number;
  editSimilarity: number;
  seconds: number;
  results: ApiCaseResult[];
}

/**
 * Runs every configuration over one split of the API-member completion sets with real greedy
 * decoding (`scoreApiCompletion`), then, when asked, held-out bits per byte with and without the
 * datastore. Read the test split once, after the defaults were chosen on validation.
 */
export async function runApiCompletionTable(options: RunApiCompletionTableOptions): Promise<{ rows: ApiTableRow[]; bitsPerByte?: { tokens: number; bytes: number; base: number; withDatastore: number; withCache?: number; withDatastoreAndCache?: number; seconds: number } }> {
  const cases = parseCompletionCases(await readApiCompletionFile(options.setsDirectory, options.split), `${options.split}.jsonl`);
  const rows: ApiTableRow[] = [];
  const builtCaches = new Map<LlamaModel, Map<string, KnnDatastore>>();
  for (const configuration of options.configurations) {
    const started = performance.now();
    const score = await scoreApiCompletion({
      model: configuration.model,
      tokenizer: options.tokenizer,
      cases,
      ...(configuration.docs && options.retriever ? { retriever: options.retriever } : {}),
      ...(configuration.datastore && options.datastore ? { datastore: { datastore: options.datastore, settings: configuration.datastore } } : {}),
      ...(configuration.cache ? { cache: configuration.cache } : {}),
      builtCaches: builtCaches.get(configuration.model) ?? builtCaches.set(configuration.model, new Map()).get(configuration.model)!,
      ...(options.onProgress ? { onCase: (done: number, total: number) => options.onProgress!(configuration.name, done, total) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    rows.push({ name: configuration.name, cases: score.cases, exact: score.exact, exactMatch: score.exactMatch, editSimilarity: score.editSimilarity, seconds: Math.round((performance.now() - started) / 100) / 10, results: score.results });
  }
  if (options.bitsPerByte === undefined || options.datastore === undefined) return { rows };
  const started = performance.now();
  const heldOut = (await readApiCompletionFile(options.setsDirectory, 'held-out-text'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as HeldOutDocument);
  const measured = await knnBitsPerByte({
    model: options.bitsPerByte.model,
    tokenizer: options.tokenizer,
    texts: heldOut.map((document) => document.text),
    datastore: options.datastore,
    settings: [options.bitsPerByte.settings],
    ...(options.bitsPerByte.cache ? { cache: options.bitsPerByte.cache } : {}),
    maximumTokens: options.bitsPerByte.maximumTokens,
    ...(options.onProgress ? { onProgress: (tokens: number) => options.onProgress!('bits per byte', tokens, options.bitsPerByte!.maximumTokens) } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { rows, bitsPerByte: { tokens: measured.tokens, bytes: measured.bytes, base: measured.base, withDatastore: measured.mixed[0]!, ...(measured.cache ? { withCache: measured.cache.alone, withDatastoreAndCache: measured.cache.afterDatastore } : {}), seconds: Math.round((performance.now() - started) / 100) / 10 } };
}
