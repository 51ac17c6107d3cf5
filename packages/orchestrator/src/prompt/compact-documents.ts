import type { RetrievedDocument, Tokenizer } from '@codestack/core';

/**
 * The relevance threshold of the docs-index retriever's `documentRelevance` under which a document stays out of the
 * prompt. Chosen by `sweepRelevanceThreshold` (run by `npm run bench -w packages/orchestrator`) on
 * the validation half of the prompt task set (`eval/prompt-tasks.ts`: 10 tasks that need a Node
 * API and 10 that need none, over all of `@types/node`, top 4): of 0.5 to 1.5 in steps of 0.025,
 * 0.875–0.925 give the most right tasks (18 of 20: an API task keeps its API, a plain task keeps
 * nothing), and 0.9 is that plateau's middle. On the test half it gives 19 of 20. See
 * `docs/orchestrator.md`.
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

/** A relevant document kept out of the prompt for the token budget. */
export interface OverBudgetDocument {
  id: string;
  /** Its relevance, when the retriever gives one. */
  relevance?: number;
  /** Tokens of the smallest form it could have gone in as (its compact form, or its text). */
  tokens: number;
  reason: string;
}

/** What {@link compactDocuments} kept, and what did not fit. */
export interface CompactedDocuments<T> {
  /** The documents as they go into the prompt, most relevant first: each compact or whole. */
  documents: T[];
  /** Documents whose compact form did not fit in `maximumTokens`. */
  overBudget: OverBudgetDocument[];
}

/**
 * Compact documents within `maximumTokens` (counted on the documents' texts): in the given order
 * (most relevant first), each goes in as its compact form (signatures and summary sentence) while
 * that fits, else it stays out, reported in `overBudget`; then, in the same order, each kept one is
 * given its whole text (detail and examples) while all together still fit. Documents without a
 * compact form go in as their text.
 */
export function compactDocuments<T extends CompactableDocument>(documents: readonly T[], options: { tokenizer: Tokenizer; maximumTokens: number }): CompactedDocuments<T> {
  const kept: { document: T; text: string; tokens: number }[] = [];
  const overBudget: OverBudgetDocument[] = [];
  let total = 0;
  for (const document of documents) {
    const text = document.compact ?? document.text;
    const tokens = options.tokenizer.countTokens(text);
    if (total + tokens <= options.maximumTokens) {
      kept.push({ document, text, tokens });
      total += tokens;
    } else {
      overBudget.push({
        id: document.id,
        ...(document.relevance === undefined ? {} : { relevance: document.relevance }),
        tokens,
        reason: `${document.compact === undefined ? 'text' : 'compact form'} of ${tokens} tokens > ${options.maximumTokens - total} left of the documents' ${options.maximumTokens}`,
      });
    }
  }
  for (const item of kept) {
    if (item.document.compact === undefined || item.document.text === item.text) continue;
    const whole = options.tokenizer.countTokens(item.document.text);
    if (total - item.tokens + whole <= options.maximumTokens) {
      total += whole - item.tokens;
      item.text = item.document.text;
      item.tokens = whole;
    }
  }
  return { documents: kept.map(({ document, text }) => ({ ...document, text })), overBudget };
}
