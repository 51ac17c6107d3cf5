import type { Retriever } from '@codestack/core';
import { DocsIndex, entryDocumentation, type DocsSearchResult } from '@codestack/retrieval';

/**
 * Adapts a `DocsIndex` of `@codestack/retrieval` to the {@link Retriever} contract: hybrid search,
 * each hit rendered as its signatures followed by its documentation.
 */
export function createDocsIndexRetriever(index: DocsIndex): Retriever {
  return {
    async retrieve(query, { topK, signal }) {
      const results: DocsSearchResult[] = await index.search(query, { topK, ...(signal ? { signal } : {}) });
      return results.map((result) => ({
        id: result.entry.id,
        text: [...result.entry.signatures, entryDocumentation(result.entry)].filter(Boolean).join('\n'),
        score: result.score,
        source: `${result.entry.package}/${result.entry.sourceFile}`,
      }));
    },
  };
}

/** Loads an index directory written by `codestack docs index` and returns it as a {@link Retriever}. */
export async function loadDocsIndexRetriever(directory: string, options: { signal?: AbortSignal } = {}): Promise<Retriever> {
  return createDocsIndexRetriever(await DocsIndex.load(directory, options));
}
