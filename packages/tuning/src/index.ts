export {
  resolveAdapterConfig,
  resolveLayers,
  resolveTargetModules,
  resolveTargetSelection,
  projectionModulePath,
  middleLayers,
  toPeftConfig,
  fromPeftConfig,
  adapterConfigLimits,
  type AdapterConfig,
  type LoraConfig,
  type Ia3Config,
  type LayerSelection,
  type TargetModules,
  type LoraInitialization,
  type ResolvedAdapterConfig,
} from './adapter-config.js';
export { Adapter, peftModulePrefix, type AdapterModule, type CreateAdapterOptions, type AdapterTensors } from './adapter.js';
export { AdapterSet } from './adapter-set.js';
export {
  saveAdapter,
  loadAdapter,
  readAdapterConfig,
  adapterFileSize,
  adapterFiles,
  encodeAdapterFiles,
  type EncodedAdapterFiles,
  type SaveAdapterOptions,
  type LoadAdapterOptions,
  type SavedAdapter,
} from './adapter-files.js';
export { compileModuleNamePattern, maximumModuleNamePatternLength } from './module-name-pattern.js';
export { fingerprintModel } from './base-model-fingerprint.js';
export { combineLoraAdapters, type WeightedAdapter } from './combine-adapters.js';
export { mergeAdapter, unmergeAdapter, mergedAdapters } from './merge-adapter.js';
export { trainAdapter, type TrainAdapterOptions, type TrainAdapterResult } from './train-adapter.js';
export { fineTuneModel, type FineTuneModelOptions } from './fine-tune-model.js';
export type { TrainingOptions, TrainingResult } from './run-training.js';
export { TokenDataSource, type TokenDataSourceOptions, type TokenDataPosition } from './token-data-source.js';
export { maskedMeanLoss } from './masked-loss.js';
export { buildWindows, type TokenData, type TokenWindow, type PromptCompletionPair } from './training-data.js';
export { evaluatePerplexity, type EvaluatePerplexityOptions, type PerplexityResult } from './evaluate-perplexity.js';
export { AdapterStateError } from './adapter-state-error.js';
export { IncompatibleAdaptersError } from './incompatible-adapters-error.js';
// The runtime's trainer raises it; re-exported so tuning users keep importing it from here.
export { TrainingFailedError } from '@codestack/runtime';
