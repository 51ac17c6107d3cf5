// kNN-LM datastores: the model's final hidden states as keys, the next tokens as values, in hnswlib.
export {
  buildDatastore,
  saveDatastore,
  loadDatastore,
  weightsFingerprint,
  datastoreBinding,
  forEachWindow,
  TokenDatastore,
  type BuildDatastoreOptions,
  type LoadDatastoreOptions,
  type DatastoreProgress,
  type DatastoreMetadata,
  type DatastoreBinding,
} from './knn-datastore.js';
export { defaultDatastoreSettings, defaultCacheSettings, type KnnMixingSettings } from './knn-defaults.js';
export { buildDatastoreDirectory, datastoreCheckpointDirectory, type BuildDatastoreDirectoryOptions, type DatastoreBuildReport, type DatastoreBuildProgress, type DatastoreSource } from './build-datastore-directory.js';
export { buildContinuousCache, ContinuousCacheBuilder, ExactTokenDatastore, type ContinuousCacheOptions, type ContinuousCacheBuild } from './continuous-cache.js';
export { createKnnCallOptions, knnCallDatastore, readKnnCallOptions, type KnnCallOptions, type CreateKnnCallOptions, type SizedKnnDatastore } from './knn-call-options.js';
export { knnCallProcessors, ContinuousCacheBuilders, type KnnCallSetup } from './knn-call-processors.js';
export { readDatastoreSources, type ReadDatastoreSourcesOptions } from './datastore-sources.js';
