import type { Retriever } from '@codestack/core';
import { DocsIndex } from '@codestack/retrieval';

/**
 * A `DocsIndex` of `@codestack/retrieval` as the {@link Retriever} contract: hybrid search, each hit
 * as `DocsIndex.retrieve` gives it (the entry's `entryPromptText`: a `//` header naming the entry
 * and its source, the signatures, the documentation). The index renders entries in one way only;
 * the prompt templates lay the documents out with `renderDocuments`.
 */
export function createDocsIndexRetriever(index: DocsIndex): Retriever {
  return { retrieve: (query, options) => index.retrieve(query, options) };
}

/** Loads an index directory written by `codestack docs index` and returns it as a {@link Retriever}. */
export async function loadDocsIndexRetriever(directory: string, options: { signal?: AbortSignal } = {}): Promise<Retriever> {
  return createDocsIndexRetriever(await DocsIndex.load(directory, options));
}
