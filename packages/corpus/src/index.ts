export {
  collectCorpus,
  readCorpusSplit,
  documentId,
  type CollectCorpusOptions,
  type CorpusDocument,
  type CorpusManifest,
  type CorpusPackageRecord,
  type CorpusSplit,
  type SkippedPackage,
} from './collect-corpus.js';
export { isPermissiveLicense, permissiveLicenses, readLicense } from './license-policy.js';
export { contentWords, estimatedSimilarity, keepDistinct, minHashSignature } from './near-duplicates.js';
export { corpusPackages, domainPackages, validationPackages } from './corpus-packages.js';
export {
  prepareTrainingData,
  encodeDocument,
  trainingDataManifestFile,
  type PrepareTrainingDataOptions,
  type TokenCounts,
  type TrainingDataManifest,
} from './prepare-training-data.js';
export {
  trainBaseModel,
  exportBaseModel,
  defaultBaseModelShape,
  type TrainBaseModelOptions,
  type TrainBaseModelResult,
} from './train-base-model.js';
export {
  tuneDomain,
  splitDomainByModule,
  moduleKey,
  type TuneDomainOptions,
  type DomainSplit,
  type DomainTuningSummary,
  type DomainMethodResult,
} from './tune-domain.js';
export { evaluateSplit, type EvaluateSplitOptions } from './evaluate-split.js';
export {
  apiCompletionPackages,
  apiCompletionModules,
  buildApiCompletionSets,
  writeApiCompletionSets,
  readApiCompletionFile,
  splitApiPackages,
  coreModuleBindings,
  coreModuleMembers,
  fileApiCases,
  type ApiCompletionCase,
  type ApiCompletionSets,
  type ApiCompletionSetsManifest,
  type BuildApiCompletionSetsOptions,
  type HeldOutDocument,
} from './api-completion-sets.js';
export { scoreApiCompletion, type ScoreApiCompletionOptions, type ApiCompletionScore, type ApiCaseResult, type MixedDatastore } from './api-completion-evaluation.js';
export { buildCorpusDatastore, type BuildCorpusDatastoreOptions, type CorpusDatastoreSummary } from './build-corpus-datastore.js';
export { forceCases, sweepScore, sweepKnnSettings, defaultKnnGrid, type ForcedCases, type ForceCasesOptions, type KnnGrid, type SweepPoint, type SweepScore } from './knn-sweep.js';
export { knnBitsPerByte, type KnnBitsPerByte, type KnnBitsPerByteOptions } from './knn-bits-per-byte.js';
export { tuneKnnDefaults, type TuneKnnDefaultsOptions, type KnnDefaultsChoice } from './tune-knn-defaults.js';
export { runApiCompletionTable, type ApiTableConfiguration, type ApiTableRow, type RunApiCompletionTableOptions } from './api-completion-table.js';
export {
  buildDocsConditionedExamples,
  trainDocsConditionedAdapter,
  type DocsConditionedExample,
  type BuildDocsConditionedExamplesOptions,
  type TrainDocsConditionedAdapterOptions,
  type DocsConditionedAdapterResult,
} from './docs-conditioned-adapter.js';
