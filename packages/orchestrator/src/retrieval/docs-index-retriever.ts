import type { RetrievedDocument, Retriever } from '@codestack/core';
import { DocsIndex, entryHeader, entryPromptText, type DocsSearchResult } from '@codestack/retrieval';
import type { CompactableDocument } from '../prompt/compact-documents.js';

export { defaultRelevanceThreshold } from '../prompt/compact-documents.js';

/**
 * How relevant a hit is, comparable across queries (the fused rank score is not: the best hit of
 * any query gets the same): its BM25 score over 40 plus its cosine similarity (0 when the vector
 * search did not find it).
 */
export function documentRelevance(result: Pick<DocsSearchResult, 'breakdown'>): number {
  return (result.breakdown.lexical?.score ?? 0) / 40 + (result.breakdown.vector?.similarity ?? 0);
}

/** A document of a `DocsIndex`: the prompt text, and the parts a compact rendering picks from. */
export interface DocsIndexDocument extends CompactableDocument {
  /** See {@link documentRelevance}. */
  relevance: number;
  /** The API's name, such as `fs.readFileSync`. */
  name: string;
  /** The entry's `entryHeader` (source line, signatures, `@deprecated` line) and the first sentence of its summary: what a compact prompt always shows. */
  compact: string;
}

/** Whether a retrieved document carries the parts of a {@link DocsIndexDocument}. */
export function isDocsIndexDocument(document: RetrievedDocument): document is DocsIndexDocument {
  const candidate = document as Partial<DocsIndexDocument>;
  return typeof candidate.relevance === 'number' && typeof candidate.compact === 'string' && typeof candidate.name === 'string';
}

/** The first sentence of a text (up to 300 characters). */
function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const match = /^.*?[.!?](?=\s|$)/.exec(flat);
  const sentence = match ? match[0] : flat;
  return sentence.length > 300 ? `${sentence.slice(0, 297)}...` : sentence;
}

/**
 * A `DocsIndex` of `@codestack/retrieval` as the {@link Retriever} contract: hybrid search, each hit
 * with the entry's `entryPromptText` as `text` (the index's one rendering: a `//` header naming the
 * entry and its source, the signatures, the documentation), the fused score, and as a
 * {@link DocsIndexDocument} its {@link documentRelevance} and compact form (the same `entryHeader`
 * followed by the summary's first sentence instead of the documentation).
 */
export function createDocsIndexRetriever(index: DocsIndex): Retriever {
  return {
    async retrieve(query, options) {
      const results = await index.search(query, { topK: options.topK, ...(options.signal === undefined ? {} : { signal: options.signal }) });
      return results.map((result): DocsIndexDocument => {
        const { entry } = result;
        const summary = firstSentence(entry.summary || entry.documentation);
        return {
          id: entry.id,
          text: entryPromptText(entry),
          score: result.score,
          source: `${entry.package}/${entry.sourceFile}:${entry.line}`,
          relevance: documentRelevance(result),
          name: entry.name,
          compact: [entryHeader(entry), summary].filter((part) => part !== '').join('\n'),
        };
      });
    },
  };
}

/** Loads an index directory written by `codestack docs index` and returns it as a {@link Retriever}. */
export async function loadDocsIndexRetriever(directory: string, options: { signal?: AbortSignal } = {}): Promise<Retriever> {
  return createDocsIndexRetriever(await DocsIndex.load(directory, options));
}
