// kNN-LM datastores: the model's final hidden states as keys, the next tokens as values, in hnswlib.
export {
  buildDatastore,
  saveDatastore,
  loadDatastore,
  weightsFingerprint,
  TokenDatastore,
  type BuildDatastoreOptions,
  type LoadDatastoreOptions,
  type DatastoreProgress,
  type DatastoreMetadata,
  type DatastoreBinding,
} from './knn-datastore.js';
export { defaultDatastoreSettings, defaultCacheSettings, type KnnMixingSettings } from './knn-defaults.js';
