import { AbortedError, InvalidArgumentError, type LanguageModel, type ProgressReporter, type Retriever, type Tokenizer } from '@codestack/core';
import { buildCompletionCases, completionSimilarity, isExactCompletion, type CompletionCase, type CompletionCaseKind, type CompletionSource } from './completion-cases.js';
import { buildCodeCompletionPrompt } from '../prompt/completion-template.js';
import { generateText } from '../models/generate-text.js';

/** Options of {@link evaluateCompletion}. */
export interface EvaluateCompletionOptions {
  /** The model under test (any {@link LanguageModel}: local, remote, wrapped in middleware). */
  model: LanguageModel;
  /** Counts prompt tokens; use the model's own tokenizer so the budget is exact. */
  tokenizer: Tokenizer;
  /** Held-out source files. */
  sources: readonly CompletionSource[];
  /** With a retriever, API docs retrieved for the code before the cursor are put in front of it as comments. */
  retriever?: Retriever;
  /** Prompt tokens (docs plus code). Default 224, which fits the bundled model's 256 with the output. */
  maximumPromptTokens?: number;
  /** Of the prompt, at most so many tokens of docs. Default a quarter of `maximumPromptTokens`. */
  maximumDocumentTokens?: number;
  /** Documents retrieved per case. Default 3. */
  documentsPerCase?: number;
  /** Lines sampled per file. Default 4. */
  casesPerFile?: number;
  /** The cases to score, when the caller built them already (say, to size a progress bar). Default `buildCompletionCases(sources, { casesPerFile })`. */
  cases?: readonly CompletionCase[];
  /** Output tokens for a next-line case (identifier cases get a quarter). Default 32. */
  maxOutputTokens?: number;
  /** Per-request provider options, such as `{ codestack: { adapter: 'rxjs' } }`. */
  providerOptions?: Record<string, Record<string, unknown>>;
  /** Progress over cases. */
  progress?: ProgressReporter;
  /** Cancels between cases. */
  signal?: AbortSignal;
}

/** Exact-match figures of one case kind. */
export interface CompletionScore {
  /** Cases scored. */
  cases: number;
  /** Cases answered exactly. */
  exact: number;
  /** `exact / cases` (0 when there are none). */
  exactMatch: number;
  /** Mean edit similarity (0 to 1) of the completions to the expected text; see `completionSimilarity`. */
  editSimilarity: number;
}

/** One case's outcome. */
export interface CompletionCaseResult {
  /** The kind of case. */
  kind: CompletionCaseKind;
  /** The source path. */
  path: string;
  /** The 1-based line. */
  line: number;
  /** What was expected. */
  expected: string;
  /** What the model produced (its first line). */
  completion: string;
  /** Whether it matched exactly. */
  exact: boolean;
  /** Its edit similarity to the expected text, 0 to 1. */
  similarity: number;
  /** Prompt tokens spent on docs. */
  documentTokens: number;
}

/** What {@link evaluateCompletion} measured. */
export interface CompletionReport {
  /** Source files read. */
  files: number;
  /** Exact match of the next line. */
  nextLine: CompletionScore;
  /** Exact match of the next identifier. */
  nextIdentifier: CompletionScore;
  /** Whether docs were retrieved into the prompts. */
  withDocuments: boolean;
  /** Mean prompt tokens spent on docs (0 without a retriever). */
  meanDocumentTokens: number;
  /** Every case, in order. */
  results: CompletionCaseResult[];
}

/**
 * Scores code completion on held-out files: exact match of the next line and of the next
 * identifier (see `buildCompletionCases`), decoding greedily. The prompt is the code before the
 * cursor, cut to whole lines within the token budget; with a `retriever`, docs retrieved for the
 * last lines before the cursor go first, as `//` comments, and the code gets what they leave.
 */
export async function evaluateCompletion(options: EvaluateCompletionOptions): Promise<CompletionReport> {
  const maximumPromptTokens = options.maximumPromptTokens ?? 224;
  const maxOutputTokens = options.maxOutputTokens ?? 32;
  if (!Number.isInteger(maximumPromptTokens) || maximumPromptTokens < 8) {
    throw new InvalidArgumentError({ argument: 'maximumPromptTokens', message: `expected an integer of at least 8, got ${maximumPromptTokens}` });
  }
  if (!Number.isInteger(maxOutputTokens) || maxOutputTokens < 4) {
    throw new InvalidArgumentError({ argument: 'maxOutputTokens', message: `expected an integer of at least 4, got ${maxOutputTokens}` });
  }
  const maximumDocumentTokens = options.maximumDocumentTokens ?? Math.floor(maximumPromptTokens / 4);
  if (options.retriever && maximumDocumentTokens >= maximumPromptTokens) {
    throw new InvalidArgumentError({ argument: 'maximumDocumentTokens', message: 'must leave room for code in the prompt' });
  }
  const cases = options.cases ?? buildCompletionCases(options.sources, options.casesPerFile === undefined ? {} : { casesPerFile: options.casesPerFile });
  const results: CompletionCaseResult[] = [];
  for (const testCase of cases) {
    if (options.signal?.aborted) throw new AbortedError({ operation: 'completion evaluation', cause: options.signal.reason });
    const { prompt, documentTokens } = await buildCodeCompletionPrompt({
      prefix: testCase.prefix,
      tokenizer: options.tokenizer,
      maximumPromptTokens,
      ...(options.retriever ? { retriever: options.retriever, maximumDocumentTokens } : {}),
      ...(options.documentsPerCase === undefined ? {} : { documents: options.documentsPerCase }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const generated = await generateText({
      model: options.model,
      prompt,
      maxOutputTokens: testCase.kind === 'next-line' ? maxOutputTokens : Math.max(4, Math.ceil(maxOutputTokens / 4)),
      temperature: 0,
      stopSequences: ['\n'],
      // The case's own prefix is the text before the cursor (a continuous cache reads it, never the text after).
      providerOptions: { ...options.providerOptions, codestack: { ...options.providerOptions?.codestack, textBeforeCursor: testCase.prefix } },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const completion = generated.text.split('\n')[0]!;
    results.push({ kind: testCase.kind, path: testCase.path, line: testCase.line, expected: testCase.expected, completion, exact: isExactCompletion(testCase, completion), similarity: completionSimilarity(testCase, completion), documentTokens });
    options.progress?.update({ completed: results.length, fields: { exact: results.filter((result) => result.exact).length } });
  }
  const score = (kind: CompletionCaseKind): CompletionScore => {
    const ofKind = results.filter((result) => result.kind === kind);
    const exact = ofKind.filter((result) => result.exact).length;
    const similarity = ofKind.reduce((total, result) => total + result.similarity, 0);
    return { cases: ofKind.length, exact, exactMatch: ofKind.length === 0 ? 0 : exact / ofKind.length, editSimilarity: ofKind.length === 0 ? 0 : similarity / ofKind.length };
  };
  const report: CompletionReport = {
    files: options.sources.length,
    nextLine: score('next-line'),
    nextIdentifier: score('next-identifier'),
    withDocuments: options.retriever !== undefined,
    meanDocumentTokens: results.length === 0 ? 0 : results.reduce((sum, result) => sum + result.documentTokens, 0) / results.length,
    results,
  };
  options.progress?.finish({ nextLine: report.nextLine.exactMatch, nextIdentifier: report.nextIdentifier.exactMatch });
  return report;
}
