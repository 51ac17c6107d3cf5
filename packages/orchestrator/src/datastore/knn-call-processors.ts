import type { LanguageModelCallOptions, Tokenizer } from '@codestack/core';
import { KnnLogitsProcessor, type LlamaModel, type LogitsProcessor } from '@codestack/runtime';
import { buildContinuousCache } from './continuous-cache.js';
import { knnCallDatastore, readKnnCallOptions } from './knn-call-options.js';

/** What {@link knnCallProcessors} set up for one call. */
export interface KnnCallSetup {
  /** The logits processors to run after the built-in ones (empty without kNN options). */
  processors: LogitsProcessor[];
  /** Pairs in the call's continuous cache (0 without one). */
  cacheEntries: number;
  /** Pairs in the datastore used (0 without one). */
  datastoreEntries: number;
}

/**
 * The kNN-LM logits processors a local model runs for `call` (see `createKnnCallOptions`): one
 * over the datastore, and one over a continuous cache built now from the call's
 * `providerOptions.codestack.textBeforeCursor`, or without it from a text prompt (which is the
 * text before the cursor; a fill-in-the-middle suffix is never read). Each mixes
 * `(1 − λ)·p + λ·p_kNN` in turn.
 */
export async function knnCallProcessors(call: LanguageModelCallOptions, model: LlamaModel, tokenizer: Tokenizer): Promise<KnnCallSetup> {
  const options = readKnnCallOptions(call);
  const setup: KnnCallSetup = { processors: [], cacheEntries: 0, datastoreEntries: 0 };
  if (options === undefined) return setup;
  const { knn, textBeforeCursor } = options;
  const datastore = knnCallDatastore(knn);
  if (datastore !== undefined && knn.datastore !== undefined) {
    setup.processors.push(new KnnLogitsProcessor(datastore, knn.datastore.settings));
    setup.datastoreEntries = datastore.size;
  }
  const text = textBeforeCursor ?? (typeof call.prompt === 'string' ? call.prompt : undefined);
  if (knn.cache !== undefined && text !== undefined) {
    const cache = await buildContinuousCache({ model, tokenizer, textBeforeCursor: text, ...(call.abortSignal ? { signal: call.abortSignal } : {}) });
    if (cache.size > 0) setup.processors.push(new KnnLogitsProcessor(cache, knn.cache));
    setup.cacheEntries = cache.size;
  }
  return setup;
}
