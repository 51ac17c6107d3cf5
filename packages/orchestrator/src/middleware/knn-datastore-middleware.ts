import { InvalidArgumentError } from '@codestack/core';
import { createKnnCallOptions, type SizedKnnDatastore } from '../datastore/knn-call-options.js';
import { defaultCacheSettings, defaultDatastoreSettings, type KnnMixingSettings } from '../datastore/knn-defaults.js';
import type { LanguageModelMiddleware } from '../models/wrap-language-model.js';

/** Options of {@link knnDatastoreMiddleware}. */
export interface KnnDatastoreMiddlewareOptions {
  /**
   * A datastore to mix in, such as `loadDatastore(DIR, { model, tokenizer })` of
   * `@codestack/orchestrator/local` (which refuses one built with other weights). It applies to
   * calls to the base model only: a call that names an adapter (`providerOptions.codestack.adapter`)
   * runs without it, since the adapter changes the hidden states its keys were taken from; the
   * continuous cache, built with the call's adapter in place, still applies there.
   */
  datastore?: SizedKnnDatastore;
  /** λ, k and temperature for the datastore. Default `defaultDatastoreSettings`. */
  settings?: Partial<KnnMixingSettings>;
  /**
   * The continuous cache: `true` (default settings `defaultCacheSettings`) or its settings. The
   * cache is built per call from `providerOptions.codestack.textBeforeCursor` (the whole file
   * before the cursor; set it when the prompt holds only the end of it), else from the text prompt.
   * Default off.
   */
  cache?: boolean | Partial<KnnMixingSettings>;
}

/**
 * The kNN-LM (Khandelwal et al. 2020) and the continuous cache (Grave et al. 2017) as middleware:
 * every call to the wrapped local model mixes `(1 − λ)·p_model + λ·p_kNN` at each decoding step,
 * `p_kNN` from the nearest stored final hidden states, read from the forward pass the step runs
 * anyway, and before the call's temperature, `topK` and `topP`, which shape and filter the mixed
 * distribution (as the kNN-LM does). It sets `providerOptions.codestack.knn` (keeping one the caller set) and composes with
 * the other middleware. A `cacheMiddleware` keys on its settings and the datastore's weights
 * fingerprint, size and content digest when it sits inside this one (after it in a
 * `wrapLanguageModel` list); placed before it, the cache sees no kNN options, and its key can
 * neither tell calls with the datastore from calls without it nor two datastores apart.
 * Only a local model (`codestack.local`) can look up hidden states: any other is refused, so the
 * lookup is never skipped silently.
 */
export function knnDatastoreMiddleware(options: KnnDatastoreMiddlewareOptions): LanguageModelMiddleware {
  const cache = options.cache === true ? defaultCacheSettings : options.cache === false || options.cache === undefined ? undefined : { ...defaultCacheSettings, ...options.cache };
  if (options.datastore === undefined && cache === undefined) {
    throw new InvalidArgumentError({ argument: 'datastore', message: 'give a datastore, the cache, or both' });
  }
  const knn = createKnnCallOptions({
    ...(options.datastore === undefined ? {} : { datastore: { datastore: options.datastore, settings: { ...defaultDatastoreSettings, ...options.settings } } }),
    ...(cache === undefined ? {} : { cache }),
  });
  return {
    async transformParams({ params, model }) {
      if (model.provider !== 'codestack.local') {
        throw new InvalidArgumentError({ argument: 'model', message: `kNN datastores need a local model's hidden states; ${model.provider} (${model.modelId}) has none` });
      }
      const codestack = params.providerOptions?.codestack ?? {};
      if (codestack.knn !== undefined) return params;
      return { ...params, providerOptions: { ...params.providerOptions, codestack: { ...codestack, knn } } };
    },
  };
}
