/**
 * `@codestack/orchestrator/local`: the bridge to local models. It adapts `@codestack/runtime`
 * models (with `@codestack/tuning` adapters) to the `LanguageModel` contract, loads checkpoints and
 * the bundled model of `@codestack/model-base`, and provides the AI SDK provider. Those packages
 * are optional peer dependencies of the orchestrator: install them when you import this entry.
 *
 * @packageDocumentation
 */
export { createLocalLanguageModel, type LocalLanguageModelOptions, type LocalLanguageModel } from './models/local/index.js';
export {
  loadLocalModel,
  loadBundledModel,
  localModelFiles,
  type LoadLocalModelOptions,
  type LoadBundledModelOptions,
  type LoadedLocalModel,
} from './models/local/index.js';
export { createCodestack, type CodestackProvider, type CodestackProviderSettings, type CodestackModelSettings } from './models/local/index.js';
export {
  buildDatastore,
  saveDatastore,
  loadDatastore,
  weightsFingerprint,
  TokenDatastore,
  defaultDatastoreSettings,
  defaultCacheSettings,
  type KnnMixingSettings,
  buildDatastoreDirectory,
  datastoreCheckpointDirectory,
  buildContinuousCache,
  readDatastoreSources,
  type ReadDatastoreSourcesOptions,
  ExactTokenDatastore,
  type BuildDatastoreDirectoryOptions,
  type DatastoreBuildReport,
  type DatastoreBuildProgress,
  type DatastoreSource,
  type ContinuousCacheOptions,
  type BuildDatastoreOptions,
  type LoadDatastoreOptions,
  type DatastoreProgress,
  type DatastoreMetadata,
  type DatastoreBinding,
} from './datastore/index.js';
