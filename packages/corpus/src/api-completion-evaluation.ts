import type { Retriever, Tokenizer } from '@codestack/core';
import { InvalidArgumentError, throwIfAborted } from '@codestack/core';
import { buildCodeCompletionPrompt } from '@codestack/orchestrator';
import { completionSimilarity, isExactCompletion, type CompletionCase } from '@codestack/orchestrator/evaluation';
import { buildContinuousCache, type KnnMixingSettings } from '@codestack/orchestrator/local';
import { generate, KnnLogitsProcessor, type KnnDatastore, type LlamaModel, type LogitsProcessor } from '@codestack/runtime';

/** A datastore with the settings it is mixed in with. */
export interface MixedDatastore {
  datastore: KnnDatastore;
  settings: KnnMixingSettings;
}

/** Options of {@link scoreApiCompletion}. */
export interface ScoreApiCompletionOptions {
  model: LlamaModel;
  tokenizer: Tokenizer;
  cases: readonly CompletionCase[];
  /** With a retriever, docs for the last lines before the cursor go first, exactly as `buildCodeCompletionPrompt` renders them. */
  retriever?: Retriever;
  /** A corpus datastore mixed into every decoding step. */
  datastore?: MixedDatastore;
  /** Continuous-cache settings: when given, each case's own prefix (never more) becomes a datastore for that case. */
  cache?: KnnMixingSettings;
  /**
   * Caches already built for this model, keyed by prefix (filled as cases are scored), so several
   * configurations of one model build each case's cache once. Use one map per model.
   */
  builtCaches?: Map<string, KnnDatastore>;
  /** Prompt tokens (docs plus code). Default 224, as `evaluateCompletion`. */
  maximumPromptTokens?: number;
  /** Generated tokens per case. Default 8, as `evaluateCompletion` gives an identifier case. */
  maximumNewTokens?: number;
  /** Called after each case. */
  onCase?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** One case's outcome. */
export interface ApiCaseResult {
  path: string;
  expected: string;
  completion: string;
  exact: boolean;
  similarity: number;
  /** The docs put in front of the code ('' without a retriever). */
  documents: string;
}

/** What {@link scoreApiCompletion} measured. */
export interface ApiCompletionScore {
  cases: number;
  exact: number;
  exactMatch: number;
  editSimilarity: number;
  results: ApiCaseResult[];
}

/**
 * Scores next-identifier cases with greedy decoding, as `evaluateCompletion` of the orchestrator
 * does (same prompt builder, same exact-match and edit-similarity rules), with the retrieval the
 * orchestrator's `LanguageModel` cannot take yet: a corpus datastore and a per-case continuous
 * cache (`buildContinuousCache`, exact search, as the product uses) mixed in through
 * `KnnLogitsProcessor`. The cache of a case holds only its own prefix.
 */
export async function scoreApiCompletion(options: ScoreApiCompletionOptions): Promise<ApiCompletionScore> {
  const { model, tokenizer } = options;
  const maximumPromptTokens = options.maximumPromptTokens ?? 224;
  const maximumNewTokens = options.maximumNewTokens ?? 8;
  if (maximumPromptTokens + maximumNewTokens > model.config.maximumContext) {
    throw new InvalidArgumentError({ argument: 'maximumPromptTokens', message: `prompt and output exceed the model's ${model.config.maximumContext} tokens` });
  }
  const results: ApiCaseResult[] = [];
  for (const testCase of options.cases) {
    throwIfAborted(options.signal, 'API completion scoring');
    const { prompt, documents } = await buildCodeCompletionPrompt({
      prefix: testCase.prefix,
      tokenizer,
      maximumPromptTokens,
      ...(options.retriever ? { retriever: options.retriever } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const processors: LogitsProcessor[] = [];
    if (options.datastore) processors.push(new KnnLogitsProcessor(options.datastore.datastore, options.datastore.settings));
    if (options.cache && testCase.prefix.length > 0) {
      let cache = options.builtCaches?.get(testCase.prefix);
      if (cache === undefined) {
        cache = await buildContinuousCache({ model, tokenizer, textBeforeCursor: testCase.prefix, ...(options.signal ? { signal: options.signal } : {}) });
        options.builtCaches?.set(testCase.prefix, cache);
      }
      processors.push(new KnnLogitsProcessor(cache, options.cache));
    }
    const [generated] = await generate(model, [tokenizer.encode(prompt)], {
      maximumNewTokens,
      tokenizer,
      stopSequences: ['\n'],
      logitsProcessors: processors,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const completion = (generated?.text ?? '').split('\n')[0]!;
    results.push({ path: testCase.path, expected: testCase.expected, completion, exact: isExactCompletion(testCase, completion), similarity: completionSimilarity(testCase, completion), documents });
    options.onCase?.(results.length, options.cases.length);
  }
  const exact = results.filter((result) => result.exact).length;
  return {
    cases: results.length,
    exact,
    exactMatch: results.length === 0 ? 0 : exact / results.length,
    editSimilarity: results.length === 0 ? 0 : results.reduce((total, result) => total + result.similarity, 0) / results.length,
    results,
  };
}
