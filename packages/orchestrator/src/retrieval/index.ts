/** The docs-index retriever (reached through `@codestack/orchestrator/retrieval`; loads hnswlib). */
export {
  createDocsIndexRetriever,
  loadDocsIndexRetriever,
  documentRelevance,
  defaultRelevanceThreshold,
  isDocsIndexDocument,
  type DocsIndexDocument,
} from './docs-index-retriever.js';
