export type { DocEntry, DocEntryKind, DocParameter } from './doc-entry.js';
export { entryNames, entryDocumentation, entryBm25Fields, entryEmbeddingText, entryPrior, entryPromptText } from './doc-entry.js';
export { entryHeader } from './entry-header.js';
export {
  resolvePackageTypes,
  type ResolvedPackageTypes,
  type ResolvePackageTypesOptions,
} from './resolve-package-types.js';
export { loadTypeScriptDocs, type LoadTypeScriptDocsOptions } from './typescript-loader.js';
export { loadMarkdownDocs, type LoadMarkdownDocsOptions } from './markdown-loader.js';
export { chunkEntries, type ChunkEntriesOptions } from './chunk-entries.js';
export { identifierTokens, splitIdentifier, stem } from './identifier-tokens.js';
export { LocalEmbedder, type LocalEmbedderState, type LocalEmbedderFitOptions } from './local-embedder.js';
export { OpenAICompatibleEmbedder, type OpenAICompatibleEmbedderOptions } from './openai-compatible-embedder.js';
export { Bm25Index, type Bm25Fields, type Bm25Hit, type Bm25Options } from './bm25-index.js';
export {
  HnswVectorIndex,
  defaultSearchEf,
  maximumSearchEf,
  maximumDimension,
  maximumGraphDegree,
  maximumConstructionEf,
  maximumCapacity,
  checkHnswGraph,
  type HnswVectorIndexOptions,
  type HnswLabels,
  type HnswGraphHeader,
  type HnswGraphExpectations,
} from './hnsw-vector-index.js';
export { ExactVectorIndex } from './exact-vector-index.js';
export { reciprocalRankFusion, defaultFusionK } from './reciprocal-rank-fusion.js';
export { maximalMarginalRelevance, type RelevanceCandidate } from './maximal-marginal-relevance.js';
export {
  DocsIndex,
  type SearchFilter,
  type SearchMode,
  type DocsSearchOptions,
  type DocsSearchResult,
  type ScoreBreakdown,
  type CreateDocsIndexOptions,
  type BuildDocsIndexOptions,
  type UpsertOptions,
  type LoadDocsIndexOptions,
  type OpenDocsIndexOptions,
} from './docs-index.js';
export type {
  DocsStore,
  DocsStoreHit,
  DocsStoreOperationOptions,
  DocsStorePiece,
  DocsStoreSearchRequest,
  DocsStoreSearchResult,
  StoredEmbedder,
} from './docs-store.js';
export { DocsStoreError, type DocsStoreErrorReason } from './docs-store-error.js';
export {
  PostgresDocsStore,
  postgresDocsStoreFormatVersion,
  type PostgresClient,
  type PostgresQueryResult,
  type ConnectPostgresDocsStoreOptions,
} from './postgres-docs-store.js';
export {
  indexFormat,
  indexFormatVersion,
  manifestFileName,
  maximumManifestBytes,
  maximumDataFileBytes,
  type IndexManifest,
  type ManifestFile,
} from './index-manifest.js';
export {
  evaluateRetrieval,
  type RetrievalQuery,
  type RetrievalMetrics,
  type EvaluateRetrievalOptions,
} from './evaluate-retrieval.js';
export { runDocsCommand, type DocsCommandContext, type DocsCommandResult } from './docs-command.js';
export { PackageNotFoundError } from './package-not-found-error.js';
export { TypesNotFoundError } from './types-not-found-error.js';
export { EmbedderMismatchError } from './embedder-mismatch-error.js';
export { EmbeddingRequestError } from './embedding-request-error.js';
