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
