import { InvalidArgumentError, throwIfAborted } from '@codestack/core';
import type { DocsIndex, SearchFilter, SearchMode } from './docs-index.js';

/** One evaluation query: a natural-language task and the API names that answer it. */
export interface RetrievalQuery {
  /** The task, such as "read a whole file as text". */
  query: string;
  /** Names (or aliases) of the entries that answer it, such as `fs.readFile`. */
  expected: string[];
}

/** Quality figures of one search mode. */
export interface RetrievalMetrics {
  /** The number of queries. */
  queries: number;
  /**
   * Recall at each cut-off: the share of queries with at least one expected API among the first
   * `k` results (the expected names are alternatives that each answer the task).
   */
  recallAtK: Record<number, number>;
  /** Mean reciprocal rank of the first expected API (0 when none is in the first `maximumK`). */
  mrr: number;
  /** Mean nDCG at `maximumK` with binary relevance over all expected names. */
  ndcg: number;
  /** Queries with no expected API among the first `maximumK` results. */
  misses: string[];
}

/** Options of {@link evaluateRetrieval}. */
export interface EvaluateRetrievalOptions {
  /** The cut-offs to report. Defaults to `[1, 5, 10]`. */
  cutoffs?: number[];
  /** The modes to evaluate. Defaults to lexical, vector and hybrid. */
  modes?: SearchMode[];
  /** Restricts every query. */
  filter?: SearchFilter;
  /** Cancels the evaluation. */
  signal?: AbortSignal;
}

/** Recall@k, MRR and nDCG of `index` on `queries`, for each search mode separately. */
export async function evaluateRetrieval(
  index: DocsIndex,
  queries: readonly RetrievalQuery[],
  options: EvaluateRetrievalOptions = {},
): Promise<Record<SearchMode, RetrievalMetrics>> {
  if (queries.length === 0) throw new InvalidArgumentError({ argument: 'queries', message: 'needs at least one query' });
  for (const item of queries) {
    if (typeof item?.query !== 'string' || !Array.isArray(item.expected) || item.expected.length === 0) {
      throw new InvalidArgumentError({ argument: 'queries', message: 'each query needs a query string and a non-empty expected list' });
    }
  }
  const cutoffs = options.cutoffs ?? [1, 5, 10];
  const maximumK = Math.max(...cutoffs);
  const modes = options.modes ?? ['lexical', 'vector', 'hybrid'];
  const report = {} as Record<SearchMode, RetrievalMetrics>;
  for (const mode of modes) {
    const found = Object.fromEntries(cutoffs.map((cutoff) => [cutoff, 0])) as Record<number, number>;
    let reciprocalRanks = 0;
    let ndcgSum = 0;
    const misses: string[] = [];
    for (const item of queries) {
      throwIfAborted(options.signal, 'evaluateRetrieval');
      const results = await index.search(item.query, {
        topK: maximumK,
        mode,
        ...(options.filter === undefined ? {} : { filter: options.filter }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      const expected = new Set(item.expected);
      const relevant = results.map((result) => [result.entry.name, ...result.entry.aliases].some((name) => expected.has(name)));
      const firstRank = relevant.indexOf(true) + 1;
      for (const cutoff of cutoffs) if (firstRank > 0 && firstRank <= cutoff) found[cutoff] = (found[cutoff] ?? 0) + 1;
      if (firstRank > 0) reciprocalRanks += 1 / firstRank;
      else misses.push(item.query);
      let dcg = 0;
      relevant.forEach((isRelevant, position) => {
        if (isRelevant) dcg += 1 / Math.log2(position + 2);
      });
      let ideal = 0;
      for (let position = 0; position < Math.min(expected.size, maximumK); position++) ideal += 1 / Math.log2(position + 2);
      ndcgSum += dcg / ideal;
    }
    report[mode] = {
      queries: queries.length,
      recallAtK: Object.fromEntries(cutoffs.map((cutoff) => [cutoff, (found[cutoff] ?? 0) / queries.length])),
      mrr: reciprocalRanks / queries.length,
      ndcg: ndcgSum / queries.length,
      misses,
    };
  }
  return report;
}
