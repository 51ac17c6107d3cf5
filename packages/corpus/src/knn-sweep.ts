import type { Retriever, Tokenizer } from '@codestack/core';
import { throwIfAborted } from '@codestack/core';
import { buildCodeCompletionPrompt } from '@codestack/orchestrator';
import type { CompletionCase } from '@codestack/orchestrator/evaluation';
import { buildContinuousCache, type KnnMixingSettings } from '@codestack/orchestrator/local';
import { knnDistribution, softmax, type KnnDatastore, type KnnNeighbour, type LlamaModel } from '@codestack/runtime';
import { readForwardValues } from './forward-values.js';

/** One teacher-forced step of a case: what greedy decoding must pick there, and what it has to pick from. */
interface ForcedStep {
  /** The model's next-token probabilities. */
  model: Float64Array;
  /** The expected token; -1 at the step after the expected text (any token that does not continue the identifier passes). */
  expected: number;
  /** Nearest neighbours in the corpus datastore and in the case's cache, nearest first. */
  datastore: KnnNeighbour[];
  cache: KnnNeighbour[];
}

/** The teacher-forced steps of every case: enough to tell, for any λ, k and temperature, whether greedy decoding answers exactly. */
export interface ForcedCases {
  steps: ForcedStep[][];
  /** Cases whose expected text merges with the prompt's last token (greedy cannot produce it from that prompt): counted as misses. */
  unreachable: number;
  /** Tokens that continue an identifier (their text starts with `[\w$]`). */
  continuesIdentifier: Uint8Array;
}

/** Options of {@link forceCases}. */
export interface ForceCasesOptions {
  model: LlamaModel;
  tokenizer: Tokenizer;
  cases: readonly CompletionCase[];
  retriever?: Retriever;
  /** A corpus datastore to search at each step. */
  datastore?: KnnDatastore;
  /** Build each case's cache (its own prefix) and search it at each step. */
  cache?: boolean;
  /** Neighbours kept per step (the largest k a sweep will try). Default 64. */
  maximumK?: number;
  maximumPromptTokens?: number;
  onCase?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/**
 * Runs each case once with its expected text appended (the prompt built as `scoreApiCompletion`
 * and `evaluateCompletion` build it) and keeps, at each expected token and at the step after it,
 * the model's probabilities and the neighbours found. {@link sweepScore} then replays greedy
 * decoding for any mixing settings without running the model again. Exact for the canonical
 * tokenization of the expected text (greedy decoding could in principle spell it otherwise).
 */
export async function forceCases(options: ForceCasesOptions): Promise<ForcedCases> {
  const { model, tokenizer } = options;
  const maximumK = options.maximumK ?? 64;
  const vocabularySize = model.config.vocabularySize;
  const continuesIdentifier = new Uint8Array(vocabularySize);
  for (let token = 0; token < vocabularySize; token++) continuesIdentifier[token] = /^[\w$]/.test(tokenizer.decode([token])) ? 1 : 0;
  const steps: ForcedStep[][] = [];
  let unreachable = 0;
  for (const testCase of options.cases) {
    throwIfAborted(options.signal, 'kNN sweep');
    const { prompt } = await buildCodeCompletionPrompt({
      prefix: testCase.prefix,
      tokenizer,
      maximumPromptTokens: options.maximumPromptTokens ?? 224,
      ...(options.retriever ? { retriever: options.retriever } : {}),
    });
    const promptIds = tokenizer.encode(prompt);
    const full = tokenizer.encode(prompt + testCase.expected);
    if (!promptIds.every((id, index) => full[index] === id)) {
      unreachable += 1;
      steps.push([]);
      options.onCase?.(steps.length, options.cases.length);
      continue;
    }
    const cache = options.cache ? await buildContinuousCache({ model, tokenizer, textBeforeCursor: testCase.prefix }) : undefined;
    const { logits: logitValues, hiddenStates: hiddenValues } = await readForwardValues(model, full);
    const hiddenSize = model.config.hiddenSize;
    const caseSteps: ForcedStep[] = [];
    for (let position = promptIds.length - 1; position < full.length; position++) {
      const hidden = hiddenValues.slice(position * hiddenSize, (position + 1) * hiddenSize);
      caseSteps.push({
        model: softmax(logitValues.slice(position * vocabularySize, (position + 1) * vocabularySize)),
        expected: position + 1 < full.length ? full[position + 1]! : -1,
        datastore: options.datastore ? [...options.datastore.search(hidden, maximumK)] : [],
        cache: cache ? [...cache.search(hidden, maximumK)] : [],
      });
    }
    steps.push(caseSteps);
    options.onCase?.(steps.length, options.cases.length);
  }
  return { steps, unreachable, continuesIdentifier };
}

function mix(probabilities: Float64Array, neighbours: readonly KnnNeighbour[], settings: KnnMixingSettings | undefined): Float64Array {
  if (settings === undefined || settings.lambda === 0 || neighbours.length === 0) return probabilities;
  const knn = knnDistribution(neighbours.slice(0, settings.k), settings.temperature);
  const mixed = probabilities.map((probability) => (1 - settings.lambda) * probability);
  for (const [token, probability] of knn) if (token >= 0 && token < mixed.length) mixed[token] = mixed[token]! + settings.lambda * probability;
  return mixed;
}

function argmax(values: Float64Array): number {
  let best = 0;
  for (let index = 1; index < values.length; index++) if (values[index]! > values[best]!) best = index;
  return best;
}

/** Exact answers, and the mean log-probability of the expected tokens, under mixing settings. */
export interface SweepScore {
  exact: number;
  cases: number;
  exactMatch: number;
  meanLogProbability: number;
}

/**
 * Replays greedy decoding over forced cases with the datastore mixed in first and the cache after
 * (as `KnnLogitsProcessor`s in that order): a case is exact when every expected token is the
 * argmax and the token after does not continue the identifier, within `maximumNewTokens`
 * (default 8, what `evaluateCompletion` and `scoreApiCompletion` give an identifier case).
 */
export function sweepScore(forced: ForcedCases, settings: { datastore?: KnnMixingSettings; cache?: KnnMixingSettings }, maximumNewTokens = 8): SweepScore {
  let exact = 0;
  let logProbability = 0;
  let scored = 0;
  for (const caseSteps of forced.steps) {
    if (caseSteps.length === 0) continue;
    // Decoding stops after `maximumNewTokens`: a longer expected text is cut short, and one of
    // exactly that length needs no ending token.
    let correct = caseSteps.length - 1 <= maximumNewTokens;
    for (const [index, step] of caseSteps.entries()) {
      if (index === maximumNewTokens) break;
      const mixed = mix(mix(step.model, step.datastore, settings.datastore), step.cache, settings.cache);
      const chosen = argmax(mixed);
      if (step.expected >= 0) {
        logProbability += Math.log(Math.max(mixed[step.expected]!, 1e-30));
        scored += 1;
        if (chosen !== step.expected) correct = false;
      } else if (forced.continuesIdentifier[chosen] === 1) correct = false;
    }
    if (correct) exact += 1;
  }
  const cases = forced.steps.length;
  return { exact, cases, exactMatch: cases === 0 ? 0 : exact / cases, meanLogProbability: scored === 0 ? 0 : logProbability / scored };
}

/** The values a sweep tries for each setting. */
export interface KnnGrid {
  lambda: readonly number[];
  k: readonly number[];
  temperature: readonly number[];
}

/** The grid of the issue-16 validation sweep. */
export const defaultKnnGrid: KnnGrid = { lambda: [0.1, 0.25, 0.5, 0.75, 0.9], k: [4, 8, 16, 32, 64], temperature: [1, 3, 10, 30, 100] };

/** One tried setting and its score. */
export interface SweepPoint {
  settings: KnnMixingSettings;
  score: SweepScore;
}

/**
 * Tries every point of `grid` for the datastore or the cache (the other one fixed as given, or
 * off) and returns them best first: most exact answers, then the highest mean log-probability of
 * the expected tokens, then the smaller λ and k (the cheaper, more conservative setting).
 */
export function sweepKnnSettings(forced: ForcedCases, which: 'datastore' | 'cache', grid: KnnGrid = defaultKnnGrid, fixed: { datastore?: KnnMixingSettings; cache?: KnnMixingSettings } = {}): SweepPoint[] {
  const points: SweepPoint[] = [];
  for (const lambda of grid.lambda) {
    for (const k of grid.k) {
      for (const temperature of grid.temperature) {
        const settings = { lambda, k, temperature };
        points.push({ settings, score: sweepScore(forced, { ...fixed, [which]: settings }) });
      }
    }
  }
  return points.sort(
    (left, right) =>
      right.score.exact - left.score.exact ||
      right.score.meanLogProbability - left.score.meanLogProbability ||
      left.settings.lambda - right.settings.lambda ||
      left.settings.k - right.settings.k,
  );
}
