import type { RetrievedDocument, Retriever } from '@codestack/core';

/**
 * A small real retriever for tests until `@codestack/retrieval` lands: scores documents by the
 * number of distinct query words they contain, and records every query it was asked.
 */
export function createKeywordRetriever(documents: readonly { id: string; text: string }[]): Retriever & { queries: string[] } {
  const queries: string[] = [];
  const words = (text: string): Set<string> => new Set(text.toLowerCase().match(/[a-z0-9_]+/g) ?? []);
  return {
    queries,
    async retrieve(query, { k }) {
      queries.push(query);
      const wanted = words(query);
      return documents
        .map((document): RetrievedDocument => ({ id: document.id, text: document.text, score: [...words(document.text)].filter((word) => wanted.has(word)).length }))
        .filter((document) => document.score > 0)
        .sort((a, b) => b.score - a.score)
        .slice(0, k);
    },
  };
}
