import type { Bm25Fields } from './bm25-index.js';
import { identifierTokens } from './identifier-tokens.js';

/** BM25's term-frequency saturation `k1`, the same for the in-memory index and the PostgreSQL store. */
export const defaultBm25K1 = 1.2;

/** BM25's length normalisation `b`, the same for the in-memory index and the PostgreSQL store. */
export const defaultBm25B = 0.75;

/** How many times a token in a name counts, so a name match outweighs a mention. */
export const bm25NameWeight = 3;

/**
 * The weighted term frequencies of one document for BM25: each {@link identifierTokens} token of
 * the names counts {@link bm25NameWeight} times, of the signatures and documentation once. The
 * document's BM25 length is the sum of the frequencies. `Bm25Index` and `PostgresDocsStore` both
 * count with this function, so both rank a document alike.
 */
export function bm25TermFrequencies(fields: Bm25Fields): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (text: string, weight: number): void => {
    for (const token of identifierTokens(text)) counts.set(token, (counts.get(token) ?? 0) + weight);
  };
  add(fields.names, bm25NameWeight);
  add(fields.signatures, 1);
  add(fields.documentation, 1);
  return counts;
}
