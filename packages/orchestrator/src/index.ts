/**
 * `@codestack/orchestrator`: the generation pipeline (`generateCode`), remote models, middleware,
 * validation and the OpenAI-compatible server. This entry loads no tensor runtime, native addon or
 * model data; local models are in `@codestack/orchestrator/local`, the docs index retriever in
 * `@codestack/orchestrator/retrieval` and the evaluations in `@codestack/orchestrator/evaluation`.
 *
 * @packageDocumentation
 */
export {
  runInSandbox,
  probeSandboxIsolation,
  type SandboxOptions,
  type SandboxResult,
  type SandboxStatus,
  type SandboxIsolation,
  type SandboxIsolationLevel,
  type SandboxIsolationSupport,
} from './sandbox.js';
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
export { SandboxError, SandboxIsolationUnavailableError } from './sandbox-error.js';
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
export { wrapLanguageModel, type LanguageModelMiddleware } from './wrap-language-model.js';
export { defaultSettingsMiddleware, type DefaultSettings } from './default-settings-middleware.js';
export { adapterRoutingMiddleware } from './adapter-routing-middleware.js';
export { retrievalAugmentationMiddleware, type RetrievalAugmentationOptions, type RetrievalRecord } from './retrieval-augmentation-middleware.js';
export { cacheMiddleware, cacheKey, createMemoryCacheStore, createDirectoryCacheStore, type CacheStore } from './cache-middleware.js';
export { traceMiddleware, loadOpenTelemetryTracer, type TraceEvent } from './trace-middleware.js';
export { validateCode, type ValidateCodeOptions, type ValidationReport } from './validate-code.js';
export {
  buildChatPrompt,
  renderChatPrompt,
  buildCompletionPrompt,
  buildCodeCompletionPrompt,
  buildFillInTheMiddlePrompt,
  defaultFillInTheMiddleSentinels,
  renderDocuments,
  documentsHeading,
  defaultSystemPrompt,
  allocatePromptBudget,
  promptPartsOf,
  PromptTooLongError,
  type PromptParts,
  type RepairTurn,
  type DocumentsLayout,
  type RenderDocumentsOptions,
  type CodeCompletionPromptOptions,
  type FillInTheMiddleSentinels,
  type PromptBudget,
  type PromptBudgetOptions,
} from './prompt/index.js';
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
