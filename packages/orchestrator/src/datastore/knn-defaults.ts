/**
 * The mixing settings of a kNN-LM lookup: `(1 − lambda)·p_model + lambda·p_kNN`, with `p_kNN` a
 * softmax over the `k` nearest keys' negative squared L2 distances divided by `temperature`.
 */
export interface KnnMixingSettings {
  /** Weight of the kNN distribution, in [0, 1]. */
  readonly lambda: number;
  /** Neighbours retrieved per decoding step. */
  readonly k: number;
  /** Divides the negative distances before their softmax (> 0; larger flattens). */
  readonly temperature: number;
}

/**
 * Defaults for a token datastore built from a corpus or a project (`codestack datastore build`,
 * `--datastore DIR`): λ 0.5, k 4, temperature 1.
 *
 * How they were chosen (issue 16, `model-pipeline tune-knn` of the private `@codestack/corpus`): on
 * the VALIDATION API-member completion set (`packages/corpus/data/api-completion/validation.jsonl`,
 * 143 `fs` → `.readFileSync`-style cases from 26 npm packages outside the training corpus, disjoint
 * from the test packages, as it stood before near-duplicate cases were removed; it now holds 115 and
 * the sweep was not re-run), with the bundled model and a datastore of 211,342 tokens of the training
 * split's files that import a Node core module, every λ ∈ {0.1, 0.25, 0.5, 0.75, 0.9},
 * k ∈ {4, 8, 16, 32, 64} and temperature ∈ {1, 3, 10, 30, 100} was scored by greedy exact answers
 * (8 output tokens, as `evaluateCompletion` gives an identifier), ties broken by the mean
 * log-probability of the expected tokens, then the smaller λ and k. The best: 7 of 143 exact (the
 * model alone: 0). The test set was not read.
 *
 * This λ serves greedy completion, not perplexity: for bits per byte, λ 0.1 was best on the corpus
 * validation split (semver, ws, underscore; 30,000 tokens: 2.307 against 2.351 without the
 * datastore), and λ 0.5 there costs bits (2.496).
 */
export const defaultDatastoreSettings: KnnMixingSettings = { lambda: 0.5, k: 4, temperature: 1 };

/**
 * Defaults for the continuous cache (Grave et al. 2017): the current file's text before the cursor,
 * as a small in-memory datastore: λ 0.5, k 16, temperature 3.
 *
 * How they were chosen: the same sweep as {@link defaultDatastoreSettings} (the same grid, the
 * same 143 validation cases, each case's cache holding only its own prefix of up to 4,000
 * characters), for the cache alone: 33 of 143 exact, against 0 without it; k 8 to 64 tie on exact
 * answers (k 16 has the best log-probability). After the corpus datastore (at its defaults), the
 * best cache λ was 0.75, with the same 33 exact answers.
 */
export const defaultCacheSettings: KnnMixingSettings = { lambda: 0.5, k: 16, temperature: 3 };
