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
} from './validation/sandbox/index.js';
export { sandboxGuardSource } from './validation/sandbox/index.js';
export { extractCode, type ExtractCodeOptions, type ExtractedCode, type ExtractedCodeSource } from './generate-code/index.js';
export {
  typeCheck,
  formatDiagnostics,
  defaultTypeCheckTimeoutMilliseconds,
  TypeCheckTimeoutError,
  TypeCheckWorkerError,
  type CodeDiagnostic,
  type TypeCheckOptions,
  type TypeCheckResult,
} from './validation/type-check/index.js';
export { transpileTypeScript, type TranspileResult } from './validation/index.js';
export { SandboxError, SandboxIsolationUnavailableError } from './validation/sandbox/index.js';
export { ModelCallError } from './models/index.js';
export {
  generateText,
  streamText,
  type GenerateTextOptions,
  type GenerateTextResult,
  type StreamTextResult,
} from './models/index.js';
export { OpenAICompatibleModel, parseRetryAfter, renderMessagesAsText, type OpenAICompatibleModelOptions } from './models/index.js';
export { createOpenAIServer, type OpenAIServer, type OpenAIServerOptions } from './server/index.js';
export { OpenAIRequestError, maximumStopSequences, maximumStopSequenceLength } from './server/index.js';
export { parseServerSentEvents, formatServerSentEvent } from './models/index.js';
export { wrapLanguageModel, type LanguageModelMiddleware } from './models/index.js';
export { defaultSettingsMiddleware, type DefaultSettings } from './middleware/index.js';
export { adapterRoutingMiddleware } from './middleware/index.js';
export { retrievalAugmentationMiddleware, type RetrievalAugmentationOptions, type RetrievalRecord } from './middleware/index.js';
export { diagnosticRetrievalMiddleware, parseDiagnostics, repairProviderOptions, type DiagnosticRetrievalOptions, type DiagnosticRetrievalRecord, type RepairMarker } from './middleware/index.js';
export { cacheMiddleware, cacheKey, createMemoryCacheStore, createDirectoryCacheStore, type CacheStore } from './middleware/index.js';
export { traceMiddleware, loadOpenTelemetryTracer, type TraceEvent } from './middleware/index.js';
export { knnDatastoreMiddleware, type KnnDatastoreMiddlewareOptions, createKnnCallOptions, defaultDatastoreSettings, defaultCacheSettings, type KnnCallOptions, type CreateKnnCallOptions, type SizedKnnDatastore, type KnnMixingSettings } from './middleware/index.js';
export { validateCode, type ValidateCodeOptions, type ValidationReport } from './validation/index.js';
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
  type RetrievalEventDocument,
} from './generate-code/index.js';
export { EventChannel } from './generate-code/index.js';
export { toAISDKLanguageModel, fromAISDKLanguageModel } from './models/index.js';
