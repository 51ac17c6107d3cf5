import type { Retriever, Tokenizer } from '@codestack/core';
import { parseCompletionCases } from '@codestack/orchestrator/evaluation';
import type { KnnMixingSettings } from '@codestack/orchestrator/local';
import type { KnnDatastore, LlamaModel } from '@codestack/runtime';
import { readApiCompletionFile } from './api-completion-sets.js';
import { readCorpusSplit } from './collect-corpus.js';
import { knnBitsPerByte } from './knn-bits-per-byte.js';
import { defaultKnnGrid, forceCases, sweepKnnSettings, type KnnGrid, type SweepPoint } from './knn-sweep.js';

/** Options of {@link tuneKnnDefaults}. */
export interface TuneKnnDefaultsOptions {
  model: LlamaModel;
  tokenizer: Tokenizer;
  /** The set directory (`data/api-completion`); only its `validation.jsonl` is read. */
  setsDirectory: string;
  /** The corpus datastore. */
  datastore: KnnDatastore;
  /** A collected corpus: its validation split (packages held out of training) tunes λ for bits per byte. */
  corpusDirectory: string;
  /** Predicted tokens of the bits-per-byte sweep. Default 30,000. */
  bitsPerByteTokens?: number;
  /** With a retriever, the completion sweep runs with docs in the prompt too. */
  retriever?: Retriever;
  grid?: KnnGrid;
  onProgress?: (stage: string, done: number, total: number) => void;
  signal?: AbortSignal;
}

/** What {@link tuneKnnDefaults} chose, with the evidence. */
export interface KnnDefaultsChoice {
  validationCases: number;
  unreachableCases: number;
  baseExact: number;
  /** Best datastore settings alone, and the runners-up. */
  datastore: SweepPoint[];
  /** Best cache settings alone. */
  cache: SweepPoint[];
  /** Best cache settings with the best datastore settings in front. */
  cacheAfterDatastore: SweepPoint[];
  /** Held-out bits per byte on the corpus validation split for λ of the grid, at the chosen datastore k and temperature. */
  bitsPerByte: { tokens: number; base: number; byLambda: { lambda: number; bitsPerByte: number }[] };
  seconds: number;
}

/**
 * The validation sweep behind `knn-defaults.ts`: every λ, k and temperature of the grid for the
 * corpus datastore alone, the continuous cache alone and the cache after the datastore, scored by
 * exact next-member answers on the VALIDATION API set (greedy decoding replayed from one forced
 * pass per case, see `forceCases`); and λ for bits per byte on the corpus validation split. The
 * test set is never read.
 */
export async function tuneKnnDefaults(options: TuneKnnDefaultsOptions): Promise<KnnDefaultsChoice> {
  const started = performance.now();
  const grid = options.grid ?? defaultKnnGrid;
  const cases = parseCompletionCases(await readApiCompletionFile(options.setsDirectory, 'validation'), 'validation.jsonl');
  const forced = await forceCases({
    model: options.model,
    tokenizer: options.tokenizer,
    cases,
    datastore: options.datastore,
    cache: true,
    maximumK: Math.max(...grid.k),
    ...(options.retriever ? { retriever: options.retriever } : {}),
    ...(options.onProgress ? { onCase: (done: number, total: number) => options.onProgress!('forced cases', done, total) } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const top = (points: SweepPoint[]): SweepPoint[] => points.slice(0, 5);
  const datastore = sweepKnnSettings(forced, 'datastore', grid);
  const cache = sweepKnnSettings(forced, 'cache', grid);
  const cacheAfterDatastore = sweepKnnSettings(forced, 'cache', grid, { datastore: datastore[0]!.settings });
  const baseExact = sweepKnnSettings(forced, 'datastore', { lambda: [0], k: [1], temperature: [1] })[0]!.score.exact;

  const validationTexts = (await readCorpusSplit(options.corpusDirectory, 'validation')).map((document) => document.text);
  const chosen: KnnMixingSettings = datastore[0]!.settings;
  const lambdas = [...new Set([...grid.lambda, 0.01, 0.05])].sort((left, right) => left - right);
  const measured = await knnBitsPerByte({
    model: options.model,
    tokenizer: options.tokenizer,
    texts: validationTexts,
    datastore: options.datastore,
    settings: lambdas.map((lambda) => ({ ...chosen, lambda })),
    maximumTokens: options.bitsPerByteTokens ?? 30_000,
    ...(options.onProgress ? { onProgress: (tokens: number) => options.onProgress!('bits per byte', tokens, options.bitsPerByteTokens ?? 30_000) } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return {
    validationCases: cases.length,
    unreachableCases: forced.unreachable,
    baseExact,
    datastore: top(datastore),
    cache: top(cache),
    cacheAfterDatastore: top(cacheAfterDatastore),
    bitsPerByte: { tokens: measured.tokens, base: measured.base, byLambda: lambdas.map((lambda, index) => ({ lambda, bitsPerByte: measured.mixed[index]! })) },
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}
