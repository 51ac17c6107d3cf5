import type { LanguageModelCallOptions, Tokenizer } from '@codestack/core';
import { KnnLogitsProcessor, type LlamaModel, type LogitsProcessor } from '@codestack/runtime';
import { ContinuousCacheBuilder } from './continuous-cache.js';
import { knnCallDatastore, readKnnCallOptions } from './knn-call-options.js';

/**
 * The continuous-cache builders of one local model, one per adapter (an adapter changes the hidden
 * states), so consecutive calls further down one file reuse the windows already run.
 */
export class ContinuousCacheBuilders {
  private readonly builders = new Map<string, ContinuousCacheBuilder>();

  /** The builder for calls with `adapter` (`undefined`: the base model). */
  for(adapter: string | undefined): ContinuousCacheBuilder {
    const key = adapter === undefined ? '' : `adapter:${adapter}`;
    let builder = this.builders.get(key);
    if (builder === undefined) {
      builder = new ContinuousCacheBuilder();
      this.builders.set(key, builder);
    }
    return builder;
  }
}

/** What {@link knnCallProcessors} set up for one call. */
export interface KnnCallSetup {
  /**
   * The processors that mix the kNN distributions in (empty without kNN options): pass them as
   * `mixingProcessors` of the runtime's `GenerationOptions`, so they run before temperature, top-k
   * and top-p, which then filter the mixed distribution.
   */
  processors: LogitsProcessor[];
  /** Pairs in the call's continuous cache (0 without one). */
  cacheEntries: number;
  /** Pairs in the datastore used (0 without one). */
  datastoreEntries: number;
  /** Milliseconds spent building the continuous cache (0 without one). */
  cacheMilliseconds: number;
  /** Cache entries reused from the previous call's windows rather than recomputed. */
  cacheReusedEntries: number;
}

/**
 * The kNN-LM logits processors a local model runs for `call` (see `createKnnCallOptions`): one
 * over the datastore, and one over a continuous cache built now from the call's
 * `providerOptions.codestack.textBeforeCursor`, or without it from a text prompt (which is the
 * text before the cursor; a fill-in-the-middle suffix is never read). Each mixes
 * `(1 − λ)·p + λ·p_kNN` in turn. `builders` keeps the last cache per adapter, to reuse its windows.
 *
 * The datastore applies to base-model calls only: a call that names an adapter
 * (`providerOptions.codestack.adapter`) skips it (`datastoreEntries` 0), since the adapter changes
 * the hidden states its keys were taken from, as other weights would (a datastore binds to the
 * base weights' fingerprint). The continuous cache, built per call with the adapter in place, still applies.
 */
export async function knnCallProcessors(call: LanguageModelCallOptions, model: LlamaModel, tokenizer: Tokenizer, builders: ContinuousCacheBuilders = new ContinuousCacheBuilders()): Promise<KnnCallSetup> {
  const options = readKnnCallOptions(call);
  const setup: KnnCallSetup = { processors: [], cacheEntries: 0, datastoreEntries: 0, cacheMilliseconds: 0, cacheReusedEntries: 0 };
  if (options === undefined) return setup;
  const { knn, textBeforeCursor } = options;
  const named = call.providerOptions?.codestack?.adapter;
  const adapter = typeof named === 'string' ? named : undefined;
  const datastore = knnCallDatastore(knn);
  // The datastore's keys are the base model's hidden states: an adapter changes them, so it is
  // the base model's only (as one built for other weights is refused).
  if (datastore !== undefined && knn.datastore !== undefined && adapter === undefined) {
    setup.processors.push(new KnnLogitsProcessor(datastore, knn.datastore.settings));
    setup.datastoreEntries = datastore.size;
  }
  const text = textBeforeCursor ?? (typeof call.prompt === 'string' ? call.prompt : undefined);
  if (knn.cache !== undefined && text !== undefined) {
    const started = performance.now();
    const builder = builders.for(adapter);
    const { cache, reusedEntries } = await builder.build({ model, tokenizer, textBeforeCursor: text, ...(call.abortSignal ? { signal: call.abortSignal } : {}) });
    setup.cacheReusedEntries = reusedEntries;
    if (cache.size > 0) setup.processors.push(new KnnLogitsProcessor(cache, knn.cache));
    setup.cacheEntries = cache.size;
    setup.cacheMilliseconds = performance.now() - started;
  }
  return setup;
}
