export { encodingNames, isEncodingName, type EncodingName } from './encoding-registry.js';
export { getModelInfo, listModelNames, type ModelInfo } from './model-registry.js';
export {
  getTokenizer,
  loadTokenizer,
  countChatTokens,
  type OpenAiTokenizer,
  type EncodeOptions,
  type ChatMessageInput,
} from './openai-tokenizer.js';
export type { TextChunk } from './text-chunk.js';
export { chunkCode, type ChunkCodeOptions } from './code-chunker.js';
export { chunkMarkdown, type ChunkMarkdownOptions } from './markdown-chunker.js';
export {
  fitBudget,
  type BudgetSection,
  type FitBudgetOptions,
  type FittedSection,
  type DroppedSection,
  type BudgetFit,
} from './token-budget.js';
export { UnknownEncodingError } from './unknown-encoding-error.js';
export { UnknownModelError } from './unknown-model-error.js';
