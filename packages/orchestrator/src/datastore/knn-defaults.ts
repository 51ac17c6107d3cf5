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
 * `--datastore DIR`).
 *
 * PROVISIONAL: these are the values of Khandelwal et al. (2020) for λ (0.25) and a small k, with a
 * temperature picked by hand for the bundled model's hidden size (squared L2 distances of its
 * final hidden states are in the tens). They were NOT chosen on a validation split yet; the
 * validation sweep (issue 16, part B) replaces them and records here how they were chosen.
 */
export const defaultDatastoreSettings: KnnMixingSettings = { lambda: 0.25, k: 16, temperature: 10 };

/**
 * Defaults for the continuous cache (Grave et al. 2017): the current file's text before the cursor,
 * as a small in-memory datastore.
 *
 * PROVISIONAL: hand-picked starting points (a cache is small and specific to the file, so fewer
 * neighbours), NOT chosen on a validation split yet; the validation sweep (issue 16, part B)
 * replaces them and records here how they were chosen.
 */
export const defaultCacheSettings: KnnMixingSettings = { lambda: 0.25, k: 8, temperature: 10 };
