import { InvalidArgumentError, type Retriever } from '@codestack/core';
import { defaultRelevanceThreshold, gateDocuments, type CompactableDocument } from '../prompt/compact-documents.js';
import { splitPromptTasks, type PromptTask } from './prompt-tasks.js';

/** How one threshold does on a task set. */
export interface ThresholdScore {
  threshold: number;
  /** Tasks right: an API task keeps a document of an API it needs, a plain task keeps none. */
  right: number;
  /** API tasks that keep a document of an API they need. */
  apiRight: number;
  /** Plain tasks that keep no document. */
  plainRight: number;
  /** Tasks scored. */
  tasks: number;
}

/** The outcome of {@link sweepRelevanceThreshold}. */
export interface RelevanceThresholdSweep {
  /** The rule the threshold was chosen by, in words. */
  rule: string;
  /** Every threshold tried, on the validation tasks, in increasing order. */
  validation: ThresholdScore[];
  /** The thresholds that tie for the most right validation tasks, as the widest run of neighbours. */
  plateau: { from: number; to: number };
  /** The threshold chosen on validation. */
  chosen: number;
  /** The test tasks at the chosen threshold: the held-out figure. */
  test: ThresholdScore;
  /** The test tasks at `defaultRelevanceThreshold`, for comparison when the two differ. */
  testAtDefault: ThresholdScore;
  /** `defaultRelevanceThreshold` as built. */
  defaultThreshold: number;
}

/** Options of {@link sweepRelevanceThreshold}. */
export interface SweepRelevanceThresholdOptions {
  /** A docs-index retriever (its documents carry a `relevance`). */
  retriever: Retriever;
  /** Tasks to choose on. Default: the validation half of `eval/prompt-tasks.ts`. */
  validation?: readonly PromptTask[];
  /** Held-out tasks to report on. Default: the test half of `eval/prompt-tasks.ts`. */
  test?: readonly PromptTask[];
  /** Thresholds to try, strictly increasing (neighbours form the runs of the rule). Default 0.5 to 1.5 in steps of 0.025. */
  thresholds?: readonly number[];
  /** Documents retrieved per task. Default 4 (`generateCode`'s). */
  topK?: number;
  signal?: AbortSignal;
}

/** 0.5, 0.525, …, 1.5. */
export const defaultSweepThresholds: readonly number[] = Array.from({ length: 41 }, (_, index) => Number((0.5 + index * 0.025).toFixed(3)));

const rule =
  'the most right validation tasks (an API task keeps a document of an API it needs, a plain task keeps none); among thresholds that tie, the widest run of neighbouring thresholds (the lowest of equally wide runs), and its middle (the lower of two middles)';

/**
 * Chooses the relevance threshold of the prompt's gate reproducibly: retrieves the top documents
 * of every task once, scores each candidate threshold on the validation tasks only, picks by the
 * stated {@link RelevanceThresholdSweep.rule}, and reports the held-out test tasks at the chosen
 * threshold (and at `defaultRelevanceThreshold`, which should be the same; if not, the default
 * is out of date).
 */
export async function sweepRelevanceThreshold(options: SweepRelevanceThresholdOptions): Promise<RelevanceThresholdSweep> {
  const split = splitPromptTasks();
  const validationTasks = options.validation ?? split.validation;
  const testTasks = options.test ?? split.test;
  const thresholds = options.thresholds ?? defaultSweepThresholds;
  if (thresholds.length === 0 || thresholds.some((threshold, index) => !Number.isFinite(threshold) || (index > 0 && threshold <= thresholds[index - 1]!))) {
    throw new InvalidArgumentError({ argument: 'thresholds', message: 'must be finite numbers in increasing order, at least one' });
  }
  const topK = options.topK ?? 4;
  const retrieve = (tasks: readonly PromptTask[]): Promise<CompactableDocument[][]> =>
    Promise.all(tasks.map(async (task) => (await options.retriever.retrieve(task.task, { topK, ...(options.signal ? { signal: options.signal } : {}) })) as CompactableDocument[]));
  const validationDocuments = await retrieve(validationTasks);
  const testDocuments = await retrieve(testTasks);

  const validation = thresholds.map((threshold) => scoreThreshold(validationTasks, validationDocuments, threshold));
  const best = Math.max(...validation.map((score) => score.right));
  let plateau = { start: 0, end: -1 };
  for (let start = 0; start < validation.length; start += 1) {
    if (validation[start]!.right !== best) continue;
    let end = start;
    while (end + 1 < validation.length && validation[end + 1]!.right === best) end += 1;
    if (end - start > plateau.end - plateau.start) plateau = { start, end };
    start = end;
  }
  const chosen = validation[plateau.start + Math.floor((plateau.end - plateau.start) / 2)]!.threshold;
  return {
    rule,
    validation,
    plateau: { from: validation[plateau.start]!.threshold, to: validation[plateau.end]!.threshold },
    chosen,
    test: scoreThreshold(testTasks, testDocuments, chosen),
    testAtDefault: scoreThreshold(testTasks, testDocuments, defaultRelevanceThreshold),
    defaultThreshold: defaultRelevanceThreshold,
  };
}

/** Scores one threshold: how many tasks keep what they should once the gate drops the rest. */
function scoreThreshold(tasks: readonly PromptTask[], retrieved: readonly CompactableDocument[][], threshold: number): ThresholdScore {
  let apiRight = 0;
  let plainRight = 0;
  tasks.forEach((task, index) => {
    const kept = gateDocuments(retrieved[index]!, threshold).kept;
    if (task.apis.length === 0) {
      if (kept.length === 0) plainRight += 1;
    } else if (kept.some((document) => task.apis.includes(documentName(document)))) {
      apiRight += 1;
    }
  });
  return { threshold, right: apiRight + plainRight, apiRight, plainRight, tasks: tasks.length };
}

/** The API a document is of: its `name`, else its id without the package prefix. */
export function documentName(document: CompactableDocument): string {
  return document.name ?? document.id.replace(/^[^:]*:/, '');
}
