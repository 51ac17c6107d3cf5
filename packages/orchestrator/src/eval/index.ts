/** Evaluation: pass@k over tasks with tests, and code completion (reached through `@codestack/orchestrator/evaluation`). */
export { parseEvalTasks, readEvalTasks, type EvalTask } from './eval-task.js';
export { passAtK } from './pass-at-k.js';
export {
  evaluatePassAtK,
  buildTaskProgram,
  type EvaluatePassAtKOptions,
  type PassAtKReport,
  type SampleOutcome,
  type TaskCompleter,
  type TaskOutcome,
} from './evaluate-pass-at-k.js';
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
} from './completion-cases.js';
export {
  evaluateCompletion,
  type EvaluateCompletionOptions,
  type CompletionReport,
  type CompletionScore,
  type CompletionCaseResult,
} from './evaluate-completion.js';
export { evaluatePrompt, type EvaluatePromptOptions, type PromptReport, type PromptScore, type BrokenAnswerOutcome } from './prompt-evaluation.js';
export { brokenAnswers, heldOutBrokenAnswers, type BrokenAnswer } from './prompt-broken-answers.js';
export { apiTasks, plainTasks, splitPromptTasks, type PromptTask } from './prompt-tasks.js';
export {
  sweepRelevanceThreshold,
  defaultSweepThresholds,
  type SweepRelevanceThresholdOptions,
  type RelevanceThresholdSweep,
  type ThresholdScore,
} from './relevance-threshold-sweep.js';
