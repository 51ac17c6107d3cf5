import { bm25TermFrequencies, defaultBm25B, defaultBm25K1 } from './bm25-term-frequencies.js';
import { entryBm25Fields, entryPrior, type DocEntry } from './doc-entry.js';
import type { PostgresRunner } from './postgres-session.js';

/**
 * BM25 in PostgreSQL, ranked exactly as `Bm25Index` ranks in memory: the same
 * `bm25TermFrequencies` (identifier tokens, names counted three times), the same `k1` and `b`, the
 * same IDF `ln(1 + (N - df + 0.5) / (df + 0.5))`, the score times the piece's prior.
 *
 * Tables: `codestack_docs_terms` (term, piece, frequency, and the piece's length and prior copied
 * in, so scoring reads the postings alone) is the posting list, keyed by term;
 * `codestack_docs_term_statistics` (term, document frequency) and the document count and total
 * length in `codestack_docs_store` are the collection statistics. Every change to the pieces
 * updates them in the same transaction ({@link addLexicalStatistics}, {@link removePieces}), so a
 * reader's snapshot always holds statistics that match its postings. Pieces are never updated in
 * place (a replace deletes and inserts), so the copied length and prior cannot go stale.
 */

/** Creates the posting and statistics tables of the lexical side (idempotent). */
export async function createLexicalTables(query: PostgresRunner): Promise<void> {
  await query(`CREATE TABLE IF NOT EXISTS codestack_docs_terms (
    term text NOT NULL,
    piece bigint NOT NULL,
    frequency integer NOT NULL,
    piece_length integer NOT NULL,
    prior double precision NOT NULL,
    PRIMARY KEY (term, piece))`);
  await query('CREATE INDEX IF NOT EXISTS codestack_docs_terms_piece ON codestack_docs_terms (piece)');
  await query(`CREATE TABLE IF NOT EXISTS codestack_docs_term_statistics (
    term text PRIMARY KEY,
    document_frequency integer NOT NULL CHECK (document_frequency > 0))`);
}

/** The lexical columns of a batch of pieces, as `unnest` arrays. */
export interface LexicalColumns {
  /** Each piece's prior (`entryPrior`). */
  priors: number[];
  /** Each piece's BM25 length: the sum of its term frequencies. */
  lengths: number[];
  /** The postings, flattened: the piece's position in the batch, the term, its frequency. */
  postingPieces: number[];
  postingTerms: string[];
  postingFrequencies: number[];
}

/** Counts the terms of each piece with `bm25TermFrequencies` over its `entryBm25Fields`, as `DocsIndex` indexes it. */
export function lexicalColumnsOf(entries: readonly DocEntry[]): LexicalColumns {
  const columns: LexicalColumns = { priors: [], lengths: [], postingPieces: [], postingTerms: [], postingFrequencies: [] };
  entries.forEach((entry, position) => {
    const counts = bm25TermFrequencies(entryBm25Fields(entry));
    let length = 0;
    for (const [term, frequency] of counts) {
      columns.postingPieces.push(position);
      columns.postingTerms.push(term);
      columns.postingFrequencies.push(frequency);
      length += frequency;
    }
    columns.priors.push(entryPrior(entry));
    columns.lengths.push(length);
  });
  return columns;
}

/**
 * Adds the pieces matching `where` (a condition on `codestack_docs_pieces` aliased `p`, with
 * parameters `values`) to the statistics: their terms' document frequencies, the document count and
 * the total length. Run after inserting them, in the same transaction.
 */
export async function addLexicalStatistics(query: PostgresRunner, where: string, values: unknown[]): Promise<void> {
  await query(
    `INSERT INTO codestack_docs_term_statistics (term, document_frequency)
     SELECT posting.term, count(*) FROM codestack_docs_terms posting JOIN codestack_docs_pieces p ON p.piece = posting.piece
     WHERE ${where} GROUP BY posting.term
     ON CONFLICT (term) DO UPDATE SET document_frequency = codestack_docs_term_statistics.document_frequency + excluded.document_frequency`,
    values,
  );
  await query(
    `UPDATE codestack_docs_store SET document_count = document_count + added.count, total_length = total_length + added.length
     FROM (SELECT count(*) AS count, coalesce(sum(p.lexical_length), 0) AS length FROM codestack_docs_pieces p WHERE ${where}) added`,
    values,
  );
}

/**
 * Deletes the pieces matching `where` (as in {@link addLexicalStatistics}) with their postings, and
 * takes them out of the statistics first. Returns the number of pieces deleted.
 */
export async function removePieces(query: PostgresRunner, where: string, values: unknown[]): Promise<number> {
  await query(
    `WITH removed AS (
       SELECT posting.term, count(*)::integer AS count FROM codestack_docs_terms posting JOIN codestack_docs_pieces p ON p.piece = posting.piece
       WHERE ${where} GROUP BY posting.term),
     gone AS (
       DELETE FROM codestack_docs_term_statistics statistics USING removed
       WHERE statistics.term = removed.term AND statistics.document_frequency <= removed.count)
     UPDATE codestack_docs_term_statistics statistics SET document_frequency = statistics.document_frequency - removed.count
     FROM removed WHERE statistics.term = removed.term AND statistics.document_frequency > removed.count`,
    values,
  );
  await query(
    `UPDATE codestack_docs_store SET document_count = document_count - removed.count, total_length = total_length - removed.length
     FROM (SELECT count(*) AS count, coalesce(sum(p.lexical_length), 0) AS length FROM codestack_docs_pieces p WHERE ${where}) removed`,
    values,
  );
  await query(`DELETE FROM codestack_docs_terms posting USING codestack_docs_pieces p WHERE posting.piece = p.piece AND ${where}`, values);
  const rows = await query(`DELETE FROM codestack_docs_pieces p WHERE ${where} RETURNING 1`, values);
  return rows.length;
}

/**
 * The BM25 ranking as one statement: parameter `$1` the query terms (deduplicated), `$2` the limit;
 * `filter` (`AND …` conditions on `p`, the pieces) is applied while scoring, as `Bm25Index` applies
 * its filter, with the statistics of the whole store. Ties are broken by piece id in byte order, as
 * in memory. All arithmetic is in double precision, as in JavaScript.
 */
export function bm25SearchSql(filter: string): string {
  const float = (value: number): string => `${value}::double precision`;
  // Only the best pieces (and any tied with the last) are joined to their rows.
  return `WITH query_terms AS (
      SELECT statistics.term,
        ln(1 + ((SELECT document_count FROM codestack_docs_store)::double precision - statistics.document_frequency + 0.5) / (statistics.document_frequency + 0.5)) AS idf
      FROM codestack_docs_term_statistics statistics WHERE statistics.term = ANY($1::text[])),
    best AS (
      SELECT posting.piece, sum(query_terms.idf * posting.frequency * ${float(defaultBm25K1 + 1)}
          / (posting.frequency + ${float(defaultBm25K1)} * (${float(1 - defaultBm25B)} + ${float(defaultBm25B)} * posting.piece_length
             / (SELECT total_length::double precision / greatest(document_count, 1) FROM codestack_docs_store)))) * posting.prior AS score
      FROM query_terms JOIN codestack_docs_terms posting ON posting.term = query_terms.term
        ${filter === '' ? '' : `JOIN codestack_docs_pieces p ON p.piece = posting.piece ${filter}`}
      GROUP BY posting.piece, posting.prior
      ORDER BY score DESC FETCH FIRST $2 ROWS WITH TIES)
    SELECT p.package, p.package_version, p.id, p.entry, best.score
    FROM best JOIN codestack_docs_pieces p ON p.piece = best.piece
    ORDER BY best.score DESC, p.id COLLATE "C" LIMIT $2`;
}
