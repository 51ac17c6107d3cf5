/** The pipeline: retrieve, budget, generate, validate, repair (`generateCode`), its event channel and code extraction. */
export { extractCode, type ExtractCodeOptions, type ExtractedCode, type ExtractedCodeSource } from './extract-code.js';
export {
  generateCode,
  repairFeedback,
  type GenerateCodeOptions,
  type GenerateCodeResult,
  type GenerateCodeEvent,
  type GenerateCodeAttempt,
  type GenerateCodeValidation,
  type RetrievalEventDocument,
} from './generate-code.js';
export { EventChannel } from './event-channel.js';
export { readTestFailure, formatTestFailure, type FailureSources, type TestFailure } from './failure-report.js';
export { diagnosticQueries, retrieveRepairDocuments, pickNamedDocument, type RepairDocuments } from './diagnostic-queries.js';
