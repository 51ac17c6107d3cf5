import type { RetrievedDocument, Tokenizer } from '@codestack/core';

/**
 * The relevance threshold of the docs-index retriever's `documentRelevance` under which a document stays out of the
 * prompt. Chosen on the validation half of the prompt task set (`eval/prompt-tasks.ts`: 10 tasks
 * that need a Node API and 10 that need none, over all of `@types/node`, top 4): thresholds from
 * 0.7 to 1.3 in steps of 0.025 were tried, 0.875–0.925 gave the most right tasks (18 of 20: an API
 * task keeps its API, a plain task keeps nothing), and 0.9 is that plateau's middle. On the test
 * half it gives 19 of 20. See `docs/orchestrator.md`.
 */
export const defaultRelevanceThreshold = 0.9;

/**
 * A retrieved document that can be rendered compactly: a docs-index retriever's documents carry
 * a relevance comparable across queries and a compact form (header, signatures, first sentence).
 */
export interface CompactableDocument extends RetrievedDocument {
  /** Relevance comparable across queries (the docs-index retriever's `documentRelevance`). */
  relevance?: number;
  /** The document's signatures and summary sentence, without detail or examples. */
  compact?: string;
  /** The API's name, such as `fs.readFileSync`. */
  name?: string;
}

/** A document kept out of the prompt as irrelevant. */
export interface IrrelevantDocument {
  id: string;
  /** Its relevance, under `threshold`. */
  relevance: number;
  threshold: number;
  reason: string;
}

/**
 * Keeps the documents whose relevance clears `threshold`, most relevant first; documents without a
 * relevance (retrievers other than the docs index) are kept as they come.
 */
export function gateDocuments<T extends CompactableDocument>(documents: readonly T[], threshold: number): { kept: T[]; dropped: IrrelevantDocument[] } {
  const kept: T[] = [];
  const dropped: IrrelevantDocument[] = [];
  for (const document of documents) {
    if (typeof document.relevance !== 'number' || document.relevance >= threshold) kept.push(document);
    else dropped.push({ id: document.id, relevance: document.relevance, threshold, reason: `relevance ${document.relevance.toFixed(3)} < threshold ${threshold}` });
  }
  const rank = (document: T): number => (typeof document.relevance === 'number' ? document.relevance : Number.POSITIVE_INFINITY);
  return { kept: kept.map((document, index) => ({ document, index })).sort((a, b) => rank(b.document) - rank(a.document) || a.index - b.index).map(({ document }) => document), dropped };
}

/**
 * Compact documents: every document first as its compact form (signatures and summary sentence),
 * most relevant first; then, in that order, each is given its whole text (detail and examples)
 * while all documents together stay within `maximumTokens`. Documents without a compact form
 * keep their text.
 */
export function compactDocuments<T extends CompactableDocument>(documents: readonly T[], options: { tokenizer: Tokenizer; maximumTokens: number }): T[] {
  const texts = documents.map((document) => document.compact ?? document.text);
  let total = texts.reduce((sum, text) => sum + options.tokenizer.countTokens(text), 0);
  documents.forEach((document, index) => {
    if (document.compact === undefined || document.text === document.compact) return;
    const extra = options.tokenizer.countTokens(document.text) - options.tokenizer.countTokens(texts[index]!);
    if (total + extra <= options.maximumTokens) {
      texts[index] = document.text;
      total += extra;
    }
  });
  return documents.map((document, index) => ({ ...document, text: texts[index]! }));
}
