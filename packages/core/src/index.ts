export { CodestackError, type CodestackErrorOptions } from './codestack-error.js';
export { InvalidArgumentError } from './invalid-argument-error.js';
export { FileFormatError, type FileFormatErrorReason } from './file-format-error.js';
export { AbortedError, throwIfAborted } from './aborted-error.js';
export { writeFileAtomic, syncDirectory, sha256Hex, sha256File } from './atomic-file.js';
export {
  writeDirectoryAtomic,
  openDirectoryFiles,
  parseDirectoryManifest,
  directoryManifestFileName,
  isDirectorySaveEntry,
  type DirectoryFiles,
  type DirectoryManifest,
  type DirectoryManifestEntry,
  type ReadDirectoryFileOptions,
  type WriteDirectoryOptions,
} from './atomic-directory.js';
export { findInstalledPackage } from './installed-package.js';
export {
  createProgressReporter,
  type ProgressReporter,
  type ProgressReporterOptions,
  type ProgressUpdate,
} from './progress-reporter.js';
export type { Tokenizer, IncrementalDecoder } from './spec/tokenizer.js';
export { createIncrementalDecoder } from './incremental-decoder.js';
export { runCommandLineProgram, type CommandLineProgramContext } from './command-line-program.js';
export { numberArgument } from './number-argument.js';
export type { Embedder, EmbedOptions } from './spec/embedder.js';
export type { VectorIndex, VectorSearchHit, VectorSearchOptions } from './spec/vector-index.js';
export type {
  LanguageModel,
  LanguageModelCallOptions,
  LanguageModelFinishReason,
  LanguageModelGenerateResult,
  LanguageModelMessage,
  LanguageModelPrompt,
  LanguageModelStreamPart,
  LanguageModelStreamResult,
  LanguageModelUsage,
} from './spec/language-model.js';
export type { Retriever, RetrievedDocument, RetrieveOptions } from './spec/retriever.js';
