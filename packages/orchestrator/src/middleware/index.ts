/** Middleware for the model stack: defaults, retrieval augmentation, adapter routing, caching and tracing. */
export { defaultSettingsMiddleware, type DefaultSettings } from './default-settings-middleware.js';
export { adapterRoutingMiddleware } from './adapter-routing-middleware.js';
export { retrievalAugmentationMiddleware, type RetrievalAugmentationOptions, type RetrievalRecord } from './retrieval-augmentation-middleware.js';
export { diagnosticRetrievalMiddleware, parseDiagnostics, repairProviderOptions, type DiagnosticRetrievalOptions, type DiagnosticRetrievalRecord, type RepairMarker } from './diagnostic-retrieval-middleware.js';
export { cacheMiddleware, cacheKey, createMemoryCacheStore, createDirectoryCacheStore, type CacheStore } from './cache-middleware.js';
export { traceMiddleware, loadOpenTelemetryTracer, type TraceEvent } from './trace-middleware.js';
export { knnDatastoreMiddleware, type KnnDatastoreMiddlewareOptions } from './knn-datastore-middleware.js';
export { createKnnCallOptions, type KnnCallOptions, type CreateKnnCallOptions, type SizedKnnDatastore } from '../datastore/knn-call-options.js';
export { defaultDatastoreSettings, defaultCacheSettings, type KnnMixingSettings } from '../datastore/knn-defaults.js';
