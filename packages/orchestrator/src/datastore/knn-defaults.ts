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
 * `--datastore DIR`): λ 0.9, k 64, temperature 100.
 *
 * How they were chosen (issue 16, `model-pipeline tune-knn` of the private `@codestack/corpus`),
 * for the retrained bundled model (issue 15): on the VALIDATION API-member completion set
 * (`packages/corpus/data/api-completion/validation.jsonl`, 115 `fs` → `.readFileSync`-style cases
 * from 26 npm packages outside the training corpus, disjoint from the test packages), with a
 * datastore of 211,342 tokens of the training split's files that import a Node core module, every
 * λ ∈ {0.1, 0.25, 0.5, 0.75, 0.9}, k ∈ {4, 8, 16, 32, 64} and temperature ∈ {1, 3, 10, 30, 100}
 * was scored by greedy exact answers (8 output tokens, as `evaluateCompletion` gives an
 * identifier), ties broken by the mean log-probability of the expected tokens, then the smaller λ
 * and k. The best: 4 of 115 exact (the model alone: 0; the runner-up, λ 0.5 with temperature 3,
 * 3). The test set was not read. (For the first bundled model, on the first 143-case validation
 * set, the same sweep chose λ 0.5, k 4, temperature 1.)
 *
 * This λ serves greedy completion, not perplexity: for bits per byte, λ 0.1 was best on the corpus
 * validation split (semver, ws, underscore; 30,000 tokens: 1.951 against 1.997 without the
 * datastore), and λ 0.9 there costs bits (2.342).
 */
export const defaultDatastoreSettings: KnnMixingSettings = { lambda: 0.9, k: 64, temperature: 100 };

/**
 * Defaults for the continuous cache (Grave et al. 2017): the current file's text before the cursor,
 * as a small in-memory datastore: λ 0.75, k 16, temperature 30.
 *
 * How they were chosen: the same sweep as {@link defaultDatastoreSettings} (the same grid, the
 * same 115 validation cases, each case's cache holding only its own prefix of up to 4,000
 * characters), for the cache alone: 25 of 115 exact, against 0 without it; k 8 to 64 tie on exact
 * answers (k 16 has the best log-probability). After the corpus datastore (at its defaults), the
 * best cache λ was 0.5 (k 16, temperature 30), with 26 exact answers. (The first bundled model's
 * sweep chose λ 0.5, k 16, temperature 3.)
 */
export const defaultCacheSettings: KnnMixingSettings = { lambda: 0.75, k: 16, temperature: 30 };
