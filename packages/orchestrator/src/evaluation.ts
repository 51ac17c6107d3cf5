/**
 * `@codestack/orchestrator/evaluation`: pass@k on executable tasks (mxeval / MultiPL-E JSONL) and
 * exact-match completion on held-out source files, for any `LanguageModel`.
 *
 * @packageDocumentation
 */
export { parseEvalTasks, readEvalTasks, type EvalTask } from './eval/index.js';
export { passAtK } from './eval/index.js';
export {
  evaluatePassAtK,
  buildTaskProgram,
  type EvaluatePassAtKOptions,
  type PassAtKReport,
  type SampleOutcome,
  type TaskCompleter,
  type TaskOutcome,
} from './eval/index.js';
export {
  buildCompletionCases,
  isExactCompletion,
  completionSimilarity,
  readCompletionSources,
  readCompletionCases,
  parseCompletionCases,
  type CompletionCase,
  type CompletionCaseKind,
  type CompletionSource,
  type BuildCompletionCasesOptions,
} from './eval/index.js';
export {
  evaluateCompletion,
  type EvaluateCompletionOptions,
  type CompletionReport,
  type CompletionScore,
  type CompletionCaseResult,
} from './eval/index.js';
export { evaluatePrompt, type EvaluatePromptOptions, type PromptReport, type PromptScore, type BrokenAnswerOutcome } from './eval/index.js';
export { brokenAnswers, heldOutBrokenAnswers, type BrokenAnswer } from './eval/index.js';
export { apiTasks, plainTasks, splitPromptTasks, type PromptTask } from './eval/index.js';
export { sweepRelevanceThreshold, defaultSweepThresholds, type SweepRelevanceThresholdOptions, type RelevanceThresholdSweep, type ThresholdScore } from './eval/index.js';
