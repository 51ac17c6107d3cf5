/** Language models: the OpenAI-compatible client, `generateText`/`streamText`, middleware wrapping, AI SDK interop and server-sent events. */
export { ModelCallError } from './model-call-error.js';
export {
  generateText,
  streamText,
  type GenerateTextOptions,
  type GenerateTextResult,
  type StreamTextResult,
} from './generate-text.js';
export { OpenAICompatibleModel, parseRetryAfter, renderMessagesAsText, type OpenAICompatibleModelOptions } from './openai-compatible-model.js';
export { parseServerSentEvents, formatServerSentEvent } from './server-sent-events.js';
export { wrapLanguageModel, type LanguageModelMiddleware } from './wrap-language-model.js';
export { toAISDKLanguageModel, fromAISDKLanguageModel } from './ai-sdk-interop.js';
