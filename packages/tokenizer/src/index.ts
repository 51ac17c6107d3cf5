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
export {
  createStreamingDecoder,
  decodeTokenStream,
  type StreamingDecoder,
  type TokenByteSource,
} from './streaming-decoder.js';
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
export {
  createCorpusEncoder,
  splitAtSafePoints,
  type CorpusEncoder,
  type CorpusEncoderOptions,
  type CorpusJobOptions,
  type CorpusInput,
} from './corpus-encoder.js';
export {
  buildCompactVocabulary,
  createCompactVocabulary,
  compactSpecialTokens,
  byteTokenOffset,
  type CompactVocabulary,
  type CompactSpecialTokens,
  type BuildCompactVocabularyOptions,
} from './compact-vocabulary.js';
export {
  saveCompactVocabulary,
  loadCompactVocabulary,
  compactVocabularyFormat,
  compactVocabularyVersion,
  type CompactVocabularyFile,
} from './compact-vocabulary-file.js';
export { UnknownEncodingError } from './unknown-encoding-error.js';
export { UnknownModelError } from './unknown-model-error.js';
export { CorpusEncoderError } from './corpus-encoder-error.js';
export {
  loadHuggingFaceTokenizer,
  type HuggingFaceTokenizer,
  type HuggingFaceEncodeOptions,
} from './hugging-face-tokenizer.js';
export {
  tokenizerFileByteLimit,
  tokenizerConfigurationFileByteLimit,
  chatTemplateFileByteLimit,
} from './hugging-face-model-files.js';
export type { ChatTemplate, ChatMessage, RenderChatTemplateOptions } from './chat-template.js';
export type { FillInTheMiddle, VocabularyToken } from './fill-in-the-middle.js';
export { ChatTemplateError } from './chat-template-error.js';
