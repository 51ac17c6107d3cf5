import type { DocEntry } from './doc-entry.js';
import { addLexicalStatistics, createLexicalTables, lexicalColumnsOf } from './postgres-bm25.js';
import type { PostgresRunner } from './postgres-session.js';

/** How many pieces the upgrade reads and re-tokenises per statement. */
const upgradeBatchSize = 500;

/**
 * Upgrades a store of format 1 (a `tsvector` column ranked by `ts_rank`) to format 2 (BM25 postings
 * and statistics), in the caller's transaction: the pieces, their entries and their embeddings are
 * kept, the lexical side is rebuilt from the stored entries with the same tokenisation a new index
 * uses, and the format version is set to 2 last. Nothing is re-embedded.
 */
export async function upgradeFormat1To2(query: PostgresRunner): Promise<void> {
  await query('ALTER TABLE codestack_docs_store ADD COLUMN document_count bigint NOT NULL DEFAULT 0, ADD COLUMN total_length bigint NOT NULL DEFAULT 0');
  await query(`ALTER TABLE codestack_docs_pieces DROP COLUMN lexical,
    ADD COLUMN piece bigint GENERATED ALWAYS AS IDENTITY,
    ADD COLUMN lexical_length integer NOT NULL DEFAULT 0,
    ALTER COLUMN prior TYPE double precision`);
  await query('CREATE UNIQUE INDEX codestack_docs_pieces_piece ON codestack_docs_pieces (piece)');
  await createLexicalTables(query);
  let last = '0';
  for (;;) {
    const rows = (await query('SELECT piece::text AS piece, entry FROM codestack_docs_pieces WHERE piece > $1::bigint ORDER BY piece LIMIT $2', [
      last,
      upgradeBatchSize,
    ])) as { piece: string; entry: unknown }[];
    if (rows.length === 0) break;
    const pieces = rows.map((row) => row.piece);
    const columns = lexicalColumnsOf(rows.map((row) => (typeof row.entry === 'string' ? JSON.parse(row.entry) : row.entry) as DocEntry));
    await query(
      `UPDATE codestack_docs_pieces p SET prior = computed.prior, lexical_length = computed.length
       FROM unnest($1::bigint[], $2::double precision[], $3::integer[]) AS computed(piece, prior, length) WHERE p.piece = computed.piece`,
      [pieces, columns.priors, columns.lengths],
    );
    await query(
      `INSERT INTO codestack_docs_terms (term, piece, frequency, piece_length, prior)
       SELECT posting.term, posting.piece, posting.frequency, posting.piece_length, posting.prior
       FROM unnest($1::text[], $2::bigint[], $3::integer[], $4::integer[], $5::double precision[]) AS posting(term, piece, frequency, piece_length, prior)`,
      [
        columns.postingTerms,
        columns.postingPieces.map((position) => pieces[position]),
        columns.postingFrequencies,
        columns.postingPieces.map((position) => columns.lengths[position]),
        columns.postingPieces.map((position) => columns.priors[position]),
      ],
    );
    last = pieces[pieces.length - 1] as string;
  }
  await addLexicalStatistics(query, 'true', []);
  await query('UPDATE codestack_docs_store SET format_version = 2');
}
