import type { Retriever } from '@codestack/core';
import { DocsIndex, type DocEntry } from '@codestack/retrieval';
import { createDocsIndexRetriever } from '../retrieval/docs-index-retriever.js';

/**
 * A real `@codestack/retrieval` index (hnswlib, BM25, local embedder) over a few small
 * documents, wrapped as the orchestrator's retriever, that also records every query it gets.
 */
export async function createRecordingDocsRetriever(documents: readonly { id: string; text: string }[]): Promise<Retriever & { queries: string[] }> {
  const entries: DocEntry[] = documents.map((document, index) => ({
    id: document.id,
    name: document.id,
    aliases: [],
    kind: 'markdown',
    signatures: [],
    summary: document.text,
    documentation: document.text,
    parameters: [],
    examples: [],
    package: 'test-docs',
    packageVersion: '1.0.0',
    sourceFile: 'README.md',
    line: index + 1,
  }));
  const retriever = createDocsIndexRetriever(await DocsIndex.build(entries));
  const queries: string[] = [];
  return {
    queries,
    async retrieve(query, options) {
      queries.push(query);
      return retriever.retrieve(query, options);
    },
  };
}
