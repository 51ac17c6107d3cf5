/**
 * `@codestack/orchestrator/retrieval`: a `DocsIndex` of `@codestack/retrieval` as a `Retriever`.
 * `@codestack/retrieval` is an optional peer dependency of the orchestrator: install it when you
 * import this entry.
 *
 * @packageDocumentation
 */
export { createDocsIndexRetriever, loadDocsIndexRetriever } from './retrieval/index.js';
