export { runInSandbox, type SandboxOptions, type SandboxResult, type SandboxStatus } from './sandbox.js';
export { sandboxGuardSource } from './sandbox-guard.js';
export { extractCode, type ExtractCodeOptions, type ExtractedCode, type ExtractedCodeSource } from './extract-code.js';
export {
  typeCheck,
  formatDiagnostics,
  defaultTypeCheckTimeoutMilliseconds,
  TypeCheckTimeoutError,
  TypeCheckWorkerError,
  type CodeDiagnostic,
  type TypeCheckOptions,
  type TypeCheckResult,
} from './type-check.js';
export { transpileTypeScript, type TranspileResult } from './transpile.js';
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
export { SandboxError } from './sandbox-error.js';
export { ModelCallError } from './model-call-error.js';
export {
  generateText,
  streamText,
  type GenerateTextOptions,
  type GenerateTextResult,
  type StreamTextResult,
} from './generate-text.js';
export { OpenAICompatibleModel, parseRetryAfter, renderMessagesAsText, type OpenAICompatibleModelOptions } from './openai-compatible-model.js';
export { createOpenAIServer, type OpenAIServer, type OpenAIServerOptions } from './openai-server.js';
export { OpenAIRequestError, maximumStopSequences, maximumStopSequenceLength } from './openai-server-request.js';
export { parseServerSentEvents, formatServerSentEvent } from './server-sent-events.js';
export { createLocalLanguageModel, renderChatPrompt, type LocalLanguageModelOptions, type LocalLanguageModel } from './local-language-model.js';
export {
  loadLocalModel,
  loadBundledModel,
  localModelFiles,
  type LoadLocalModelOptions,
  type LoadBundledModelOptions,
  type LoadedLocalModel,
} from './load-local-model.js';
export { createCodestack, type CodestackProvider, type CodestackProviderSettings, type CodestackModelSettings } from './codestack-provider.js';
export { wrapLanguageModel, type LanguageModelMiddleware } from './wrap-language-model.js';
export { defaultSettingsMiddleware, type DefaultSettings } from './default-settings-middleware.js';
export { adapterRoutingMiddleware } from './adapter-routing-middleware.js';
export { retrievalAugmentationMiddleware, type RetrievalAugmentationOptions, type RetrievalRecord } from './retrieval-augmentation-middleware.js';
export { cacheMiddleware, cacheKey, createMemoryCacheStore, createDirectoryCacheStore, type CacheStore } from './cache-middleware.js';
export { traceMiddleware, loadOpenTelemetryTracer, type TraceEvent } from './trace-middleware.js';
export { validateCode, type ValidateCodeOptions, type ValidationReport } from './validate-code.js';
export {
  buildChatPrompt,
  buildCompletionPrompt,
  buildFillInTheMiddlePrompt,
  renderDocuments,
  defaultSystemPrompt,
  type PromptParts,
  type FillInTheMiddleSentinels,
} from './prompt-templates.js';
export { allocatePromptBudget, type PromptBudget, type PromptBudgetOptions } from './prompt-budget.js';
export {
  generateCode,
  repairFeedback,
  type GenerateCodeOptions,
  type GenerateCodeResult,
  type GenerateCodeEvent,
  type GenerateCodeAttempt,
  type GenerateCodeValidation,
} from './generate-code.js';
export { EventChannel } from './event-channel.js';
export { toAISDKLanguageModel, fromAISDKLanguageModel } from './ai-sdk-interop.js';
export { createDocsIndexRetriever, loadDocsIndexRetriever } from './docs-index-retriever.js';
export { runCli, cliUsage, type CliContext } from './run-cli.js';
export {
  buildCompletionCases,
  isExactCompletion,
  completionSimilarity,
  readCompletionSources,
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
export { buildCodeCompletionPrompt, type CodeCompletionPromptOptions } from './code-completion-prompt.js';
