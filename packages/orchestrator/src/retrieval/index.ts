/** The docs-index retriever (reached through `@codestack/orchestrator/retrieval`; loads hnswlib). */
export { createDocsIndexRetriever, loadDocsIndexRetriever } from './docs-index-retriever.js';
