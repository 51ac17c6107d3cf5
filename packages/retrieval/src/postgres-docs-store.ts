import { InvalidArgumentError, throwIfAborted } from '@codestack/core';
import type { DocEntry } from './doc-entry.js';
import type { SearchFilter } from './docs-index.js';
import { DocsStoreError } from './docs-store-error.js';
import type {
  DocsStore,
  DocsStoreHit,
  DocsStoreOperationOptions,
  DocsStorePiece,
  DocsStoreSearchRequest,
  DocsStoreSearchResult,
  StoredEmbedder,
} from './docs-store.js';
import { addLexicalStatistics, bm25SearchSql, createLexicalTables, lexicalColumnsOf, removePieces } from './postgres-bm25.js';
import { upgradeFormat1To2 } from './postgres-docs-store-upgrade.js';
import { openPostgresSession, sessionOver, type PostgresClient, type PostgresRunner, type PostgresSession } from './postgres-session.js';

export type { PostgresClient, PostgresQueryResult } from './postgres-session.js';

/** Options of {@link PostgresDocsStore.connect}. */
export interface ConnectPostgresDocsStoreOptions {
  /**
   * `postgres://…` or `postgresql://…` for a server (through the optional `pg` package, as a pool
   * the store closes), or `pglite:DIRECTORY` / `pglite:memory` for an embedded PGlite database
   * (the optional `@electric-sql/pglite` and `@electric-sql/pglite-pgvector` packages).
   */
  connectionString?: string;
  /** A client to use instead; the caller keeps it and closes it. */
  client?: PostgresClient;
  /** Cancels the connection, the schema check and an upgrade (rolled back). */
  signal?: AbortSignal;
}

/**
 * The store's schema version, recorded in `codestack_docs_store`. Format 1 (a `tsvector` ranked by
 * `ts_rank`) is upgraded in place by {@link PostgresDocsStore.connect}; a newer format is refused.
 */
export const postgresDocsStoreFormatVersion = 2;

/**
 * Serialises every writer of one store (the collection statistics are shared by all packages): a
 * transaction-scoped advisory lock in the two-key form, the first key this store's own and the
 * second its schema (where `codestack_docs_store` is, or will be created), so it neither collides
 * with the host's own advisory locks nor serialises stores in different schemas. Advisory locks are
 * per database already.
 */
const lockWriters = `SELECT pg_advisory_xact_lock(hashtext('codestack.docs_store'), hashtext(coalesce(
  (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = to_regclass('codestack_docs_store')), current_schema(), '')))`;

/** The oldest pgvector the store runs on: HNSW indexes and `hnsw.ef_search` came with 0.5.0. */
export const minimumPgvectorVersion = '0.5.0';

/**
 * What the store uses of the pgvector `extversion` (`0.8.6`): whether it is new enough at all
 * (`supported`, {@link minimumPgvectorVersion}) and whether it has the iterative HNSW scan
 * (`hnsw.iterative_scan`, 0.8.0), which keeps a filtered search going past filtered-out rows. An
 * unreadable version is taken as a supported one without the iterative scan.
 */
export function pgvectorFeatures(extversion: unknown): { supported: boolean; iterativeScan: boolean } {
  const match = typeof extversion === 'string' ? /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(extversion.trim()) : null;
  if (match === null) return { supported: true, iterativeScan: false };
  const [major, minor] = [Number(match[1]), Number(match[2])];
  const atLeast = (wantedMajor: number, wantedMinor: number): boolean => major > wantedMajor || (major === wantedMajor && minor >= wantedMinor);
  return { supported: atLeast(0, 5), iterativeScan: atLeast(0, 8) };
}

/**
 * A {@link DocsStore} on PostgreSQL with pgvector: one row per piece holding the entry (`jsonb`), its
 * package, version, kind and deprecation (filters run in SQL) and its embedding (`vector(N)` under an
 * HNSW index with cosine distance), beside BM25 postings and statistics for the lexical side, ranked
 * in SQL exactly as the in-memory `Bm25Index` ranks (see `postgres-bm25.ts`). Runs against a server
 * through `pg` or embedded on PGlite.
 *
 * A package version is replaced or deleted in one transaction that also updates the BM25
 * statistics, so a search, which reads both of its rankings in one repeatable-read transaction, sees
 * the old rows or the new ones, never a mix. Writers take one store-wide lock, so they run one at a
 * time; readers never wait for them.
 *
 * Every operation takes an `AbortSignal`. Over `pg` a statement still running when it fires is
 * cancelled on the server (a cancel request, as `psql` sends on Ctrl-C) and its transaction rolled
 * back; PGlite cannot interrupt a running statement, so there the signal is checked between
 * statements.
 */
export class PostgresDocsStore implements DocsStore {
  private dimension: number | undefined;

  /** Whether the server's pgvector has `hnsw.iterative_scan` (0.8.0 and later), read at connect. */
  private iterativeScan = false;

  private constructor(private readonly session: PostgresSession) {}

  /**
   * Opens a store by connection string or over a client, creates the pgvector extension when it is
   * missing, checks the store's format version, and upgrades a store of format 1 in place in one
   * transaction (the lexical side is rebuilt from the stored entries; nothing is re-embedded).
   * @throws InvalidArgumentError when neither or both of `connectionString` and `client` are given, or the string's scheme is unknown.
   * @throws DocsStoreError when a driver package is missing, the database refuses, the store's format is newer than this version reads (`unsupported-format`), or an upgrade fails (nothing is changed): `outdated-format` when the role may not alter the tables, `database` for another failure.
   */
  static async connect(options: ConnectPostgresDocsStoreOptions): Promise<PostgresDocsStore> {
    const { connectionString, client, signal } = options;
    if ((connectionString === undefined) === (client === undefined)) {
      throw new InvalidArgumentError({ argument: 'options', message: 'pass exactly one of connectionString and client' });
    }
    throwIfAborted(signal, 'PostgresDocsStore.connect');
    const session = client !== undefined ? sessionOver(client) : await openPostgresSession(connectionString as string);
    const store = new PostgresDocsStore(session);
    try {
      await session.query('CREATE EXTENSION IF NOT EXISTS vector', undefined, { operation: 'PostgresDocsStore.connect', signal });
      const [extension] = (await session.query("SELECT extversion FROM pg_extension WHERE extname = 'vector'", undefined, { operation: 'PostgresDocsStore.connect', signal })) as {
        extversion?: unknown;
      }[];
      const features = pgvectorFeatures(extension?.extversion);
      if (!features.supported) {
        throw new DocsStoreError({
          reason: 'database',
          message: `the database has pgvector ${String(extension?.extversion)}; the store needs ${minimumPgvectorVersion} or later (HNSW indexes): install a newer pgvector and run ALTER EXTENSION vector UPDATE`,
        });
      }
      store.iterativeScan = features.iterativeScan;
      await store.upgradeWhenOutdated(signal);
      await store.readEmbedder(signal === undefined ? {} : { signal });
    } catch (error) {
      await session.close().catch(() => undefined);
      throw error;
    }
    return store;
  }

  /**
   * Whether a statement still running when the signal fires is cancelled on the server, rather than
   * run to its end: it follows from the driver, true over `pg` (a connection string `postgres://…`,
   * or a `pg` client or pool) and false on PGlite.
   */
  get cancelsRunningStatements(): boolean {
    return this.session.driver === 'pg';
  }

  /** @inheritdoc */
  async readEmbedder(options: DocsStoreOperationOptions = {}): Promise<StoredEmbedder | undefined> {
    const statement = { operation: 'PostgresDocsStore.readEmbedder', signal: options.signal };
    const [table] = await this.session.query("SELECT to_regclass('codestack_docs_store') IS NOT NULL AS present", undefined, statement);
    if ((table as { present: boolean }).present !== true) return undefined;
    const [row] = await this.session.query('SELECT format_version, embedder_id, dimension, embedder_state FROM codestack_docs_store', undefined, statement);
    if (row === undefined) return undefined;
    return this.checkStoreRow(row);
  }

  /** @inheritdoc */
  async initialize(embedder: StoredEmbedder, options: DocsStoreOperationOptions = {}): Promise<StoredEmbedder> {
    if (!Number.isInteger(embedder.dimension) || embedder.dimension < 1 || embedder.dimension > 16_000) {
      throw new InvalidArgumentError({ argument: 'embedder.dimension', message: `must be an integer in [1, 16000], got ${String(embedder.dimension)}` });
    }
    return this.session.run(
      'write',
      async (query) => {
        // One writer at a time; a second initialiser sees the first's row.
        await query(lockWriters);
        await query(`CREATE TABLE IF NOT EXISTS codestack_docs_store (
          singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
          format_version integer NOT NULL,
          embedder_id text NOT NULL,
          dimension integer NOT NULL,
          embedder_state text,
          document_count bigint NOT NULL DEFAULT 0,
          total_length bigint NOT NULL DEFAULT 0)`);
        const [existing] = await query('SELECT format_version, embedder_id, dimension, embedder_state FROM codestack_docs_store');
        if (existing !== undefined) return this.checkStoreRow(existing);
        await query('INSERT INTO codestack_docs_store (format_version, embedder_id, dimension, embedder_state) VALUES ($1, $2, $3, $4)', [
          postgresDocsStoreFormatVersion,
          embedder.id,
          embedder.dimension,
          embedder.state === undefined ? null : JSON.stringify(embedder.state),
        ]);
        await query(`CREATE TABLE IF NOT EXISTS codestack_docs_pieces (
          piece bigint GENERATED ALWAYS AS IDENTITY,
          package text NOT NULL,
          package_version text NOT NULL,
          id text NOT NULL,
          kind text NOT NULL,
          deprecated boolean NOT NULL,
          entry jsonb NOT NULL,
          prior double precision NOT NULL,
          lexical_length integer NOT NULL,
          embedding vector(${embedder.dimension}) NOT NULL,
          PRIMARY KEY (package, package_version, id))`);
        await query('CREATE UNIQUE INDEX IF NOT EXISTS codestack_docs_pieces_piece ON codestack_docs_pieces (piece)');
        await query('CREATE INDEX IF NOT EXISTS codestack_docs_pieces_embedding ON codestack_docs_pieces USING hnsw (embedding vector_cosine_ops)');
        await query('CREATE INDEX IF NOT EXISTS codestack_docs_pieces_kind ON codestack_docs_pieces (kind)');
        await createLexicalTables(query);
        this.dimension = embedder.dimension;
        return { id: embedder.id, dimension: embedder.dimension, ...(embedder.state === undefined ? {} : { state: embedder.state }) };
      },
      { operation: 'PostgresDocsStore.initialize', signal: options.signal },
    );
  }

  /** @inheritdoc */
  async replacePackage(packageName: string, packageVersion: string, pieces: readonly DocsStorePiece[], options: DocsStoreOperationOptions = {}): Promise<void> {
    const dimension = await this.requireDimension(options.signal);
    for (const piece of pieces) {
      if (piece.entry.package !== packageName || piece.entry.packageVersion !== packageVersion) {
        throw new InvalidArgumentError({
          argument: 'pieces',
          message: `every piece must be of ${packageName}@${packageVersion}; ${piece.entry.id} is of ${piece.entry.package}@${piece.entry.packageVersion}`,
        });
      }
      if (piece.vector.length !== dimension) {
        throw new InvalidArgumentError({ argument: 'pieces', message: `${piece.entry.id}'s vector has ${piece.vector.length} dimensions, the store ${dimension}` });
      }
    }
    const operation = 'PostgresDocsStore.replacePackage';
    await this.session.run(
      'write',
      async (query) => {
        await query(lockWriters);
        const ofPackage = 'p.package = $1 AND p.package_version = $2';
        await removePieces(query, ofPackage, [packageName, packageVersion]);
        const batchSize = 200;
        for (let start = 0; start < pieces.length; start += batchSize) {
          throwIfAborted(options.signal, operation);
          await insertPieces(query, packageName, packageVersion, pieces.slice(start, start + batchSize));
        }
        await addLexicalStatistics(query, ofPackage, [packageName, packageVersion]);
      },
      { operation, signal: options.signal },
    );
  }

  /** @inheritdoc */
  async deletePackage(packageName: string, packageVersion?: string, options: DocsStoreOperationOptions = {}): Promise<number> {
    if ((await this.readEmbedder(options)) === undefined) return 0;
    return this.session.run(
      'write',
      async (query) => {
        await query(lockWriters);
        return packageVersion === undefined
          ? removePieces(query, 'p.package = $1', [packageName])
          : removePieces(query, 'p.package = $1 AND p.package_version = $2', [packageName, packageVersion]);
      },
      { operation: 'PostgresDocsStore.deletePackage', signal: options.signal },
    );
  }

  /** @inheritdoc */
  async packages(options: DocsStoreOperationOptions = {}): Promise<{ package: string; version: string; pieces: number }[]> {
    if ((await this.readEmbedder(options)) === undefined) return [];
    const rows = (await this.session.query(
      'SELECT package, package_version, count(*)::integer AS pieces FROM codestack_docs_pieces GROUP BY package, package_version ORDER BY package, package_version',
      undefined,
      { operation: 'PostgresDocsStore.packages', signal: options.signal },
    )) as { package: string; package_version: string; pieces: number }[];
    return rows.map((row) => ({ package: row.package, version: row.package_version, pieces: row.pieces }));
  }

  /** @inheritdoc */
  async search(request: DocsStoreSearchRequest): Promise<DocsStoreSearchResult> {
    const operation = 'PostgresDocsStore.search';
    throwIfAborted(request.signal, operation);
    await this.requireDimension(request.signal);
    const lexicalTokens = [...new Set((request.lexicalTokens ?? []).filter((token) => /^[a-z0-9]+$/.test(token)))];
    // One filter for both rankings and the scan setting: parameters from $3, conditions on `p`.
    const where = filterSql(request.filter, 3);
    return this.session.run(
      'read',
      async (query) => {
        const lexical: DocsStoreHit[] = [];
        const vector: DocsStoreHit[] = [];
        if (lexicalTokens.length > 0) {
          const rows = (await query(bm25SearchSql(where.sql), [lexicalTokens, request.candidates, ...where.values])) as PieceRow[];
          for (const row of rows) lexical.push(hitOf(row));
        }
        if (request.vector !== undefined) {
          // The stored vectors come back for MMR: binary over pg (no server-side cast to text, no parse
          // of 512 numbers a row), text on PGlite, whose bytea decoding took twice as long as the text.
          const binary = this.session.driver === 'pg';
          const vectorColumn = binary ? 'vector_send(embedding)' : 'embedding::text';
          const rows = (await query(
            `SELECT package, package_version, id, entry, ${vectorColumn} AS embedding, 1 - (embedding <=> $1::vector) AS score
             FROM codestack_docs_pieces p WHERE true ${where.sql}
             ORDER BY embedding <=> $1::vector LIMIT $2`,
            [vectorLiteral(request.vector), request.candidates, ...where.values],
          )) as PieceRow[];
          for (const row of rows) vector.push({ ...hitOf(row), vector: binary ? decodeVector(row.embedding as Uint8Array) : parseVector(row.embedding as string) });
          vector.sort((left, right) => right.score - left.score);
        }
        return { lexical, vector };
      },
      {
        operation,
        signal: request.signal,
        // For this transaction only, sent with its BEGIN: JIT compiling costs a server 1-2 s on a
        // statement whose estimates look large (fresh, unanalysed tables), far more than these
        // statements run. No sequential scans: the planner prices a scan of a few thousand rows below
        // the HNSW index, but each row's 2 KB vector is TOASTed, and the scan took 125-560 ms where the
        // index took 2 ms (a real server, @types/node); index scans (HNSW, or a primary-key range for a
        // selective package filter) stay open to it. A filtered HNSW scan keeps going past
        // filtered-out rows (pgvector >= 0.8; the setting does not exist before, and setting it
        // there would fail every search) instead of returning fewer hits.
        settings: {
          jit: 'off',
          enable_seqscan: 'off',
          'hnsw.ef_search': String(Math.max(request.ef, request.candidates)),
          ...(this.iterativeScan ? { 'hnsw.iterative_scan': where.sql === '' ? 'off' : 'relaxed_order' } : {}),
        },
      },
    );
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    await this.session.close();
  }

  /**
   * Upgrades a store of format 1 under the writer lock, in one transaction; a concurrent connector
   * waits for the lock and then finds format 2.
   */
  private async upgradeWhenOutdated(signal: AbortSignal | undefined): Promise<void> {
    const statement = { operation: 'PostgresDocsStore.connect', signal };
    const version = async (query: PostgresRunner): Promise<unknown> => {
      const [table] = await query("SELECT to_regclass('codestack_docs_store') IS NOT NULL AS present");
      if ((table as { present: boolean }).present !== true) return undefined;
      const [row] = (await query('SELECT format_version FROM codestack_docs_store')) as { format_version: unknown }[];
      return row?.format_version;
    };
    if ((await version((text, values) => this.session.query(text, values, statement))) !== 1) return;
    try {
      await this.session.run(
        'write',
        async (query) => {
          await query(lockWriters);
          if ((await version(query)) === 1) await upgradeFormat1To2(query);
        },
        statement,
      );
    } catch (cause) {
      // Only a refused privilege (42501: not the tables' owner) is what a role that may alter them fixes.
      if (DocsStoreError.isInstance(cause) && cause.reason === 'database' && (cause.cause as { code?: unknown } | undefined)?.code === '42501') {
        throw new DocsStoreError({
          reason: 'outdated-format',
          message:
            `the store has format 1 (written by an earlier codestack) and upgrading it to format ${postgresDocsStoreFormatVersion} in place failed, so nothing was changed: ` +
            `${cause.message}. Connect once with a role that may alter its tables, or index the packages again into an empty database`,
          cause,
        });
      }
      throw cause;
    }
  }

  private async requireDimension(signal: AbortSignal | undefined): Promise<number> {
    if (this.dimension !== undefined) return this.dimension;
    const embedder = await this.readEmbedder(signal === undefined ? {} : { signal });
    if (embedder === undefined) {
      throw new InvalidArgumentError({ argument: 'store', message: 'the store is empty: initialize it with an embedder first (index a package into it)' });
    }
    return embedder.dimension;
  }

  private checkStoreRow(value: unknown): StoredEmbedder {
    const row = value as { format_version: unknown; embedder_id: unknown; dimension: unknown; embedder_state: unknown };
    if (row.format_version !== postgresDocsStoreFormatVersion) {
      const newer = typeof row.format_version === 'number' && row.format_version > postgresDocsStoreFormatVersion;
      throw new DocsStoreError({
        reason: newer ? 'unsupported-format' : 'corrupt',
        message: newer
          ? `the store has format ${String(row.format_version)}, written by a newer codestack; this version reads format ${postgresDocsStoreFormatVersion}: upgrade @codestack/retrieval`
          : `the store has format version ${String(row.format_version)}; this version reads ${postgresDocsStoreFormatVersion}`,
      });
    }
    if (typeof row.embedder_id !== 'string' || typeof row.dimension !== 'number') {
      throw new DocsStoreError({ reason: 'corrupt', message: 'codestack_docs_store lacks the embedder id or dimension' });
    }
    this.dimension = row.dimension;
    const state = typeof row.embedder_state === 'string' ? (JSON.parse(row.embedder_state) as unknown) : row.embedder_state;
    return { id: row.embedder_id, dimension: row.dimension, ...(state === null || state === undefined ? {} : { state: state as NonNullable<StoredEmbedder['state']> }) };
  }
}

/** Inserts one batch of pieces of one package version with their BM25 postings, in one statement. */
async function insertPieces(query: PostgresRunner, packageName: string, packageVersion: string, batch: readonly DocsStorePiece[]): Promise<void> {
  const lexical = lexicalColumnsOf(batch.map((piece) => piece.entry));
  await query(
    `WITH inserted AS (
       INSERT INTO codestack_docs_pieces (package, package_version, id, kind, deprecated, entry, prior, lexical_length, embedding)
       SELECT $1, $2, piece.id, piece.kind, piece.deprecated, piece.entry, piece.prior, piece.length, piece.embedding::vector
       FROM unnest($3::text[], $4::text[], $5::boolean[], $6::jsonb[], $7::double precision[], $8::integer[], $9::text[])
         AS piece(id, kind, deprecated, entry, prior, length, embedding)
       RETURNING piece, id, lexical_length, prior)
     INSERT INTO codestack_docs_terms (term, piece, frequency, piece_length, prior)
     SELECT posting.term, inserted.piece, posting.frequency, inserted.lexical_length, inserted.prior
     FROM unnest($10::integer[], $11::text[], $12::integer[]) AS posting(position, term, frequency)
       JOIN unnest($3::text[]) WITH ORDINALITY AS ordinal(id, position) ON ordinal.position = posting.position
       JOIN inserted ON inserted.id = ordinal.id`,
    [
      packageName,
      packageVersion,
      batch.map((piece) => piece.entry.id),
      batch.map((piece) => piece.entry.kind),
      batch.map((piece) => piece.entry.deprecated !== undefined),
      batch.map((piece) => JSON.stringify(piece.entry)),
      lexical.priors,
      lexical.lengths,
      batch.map((piece) => vectorLiteral(piece.vector)),
      lexical.postingPieces.map((position) => position + 1),
      lexical.postingTerms,
      lexical.postingFrequencies,
    ],
  );
}

interface PieceRow {
  package: string;
  package_version: string;
  id: string;
  entry: unknown;
  score: number;
  embedding?: Uint8Array | string;
}

function hitOf(row: PieceRow): DocsStoreHit {
  const entry = (typeof row.entry === 'string' ? JSON.parse(row.entry) : row.entry) as DocEntry;
  return { key: `${row.package}@${row.package_version}#${row.id}`, entry, score: Number(row.score) };
}

/** The filter as SQL conditions (`AND …`) on `p`, the pieces, with parameters numbered from `firstParameter`. */
function filterSql(filter: SearchFilter | undefined, firstParameter: number): { sql: string; values: unknown[] } {
  const conditions: string[] = [];
  const values: unknown[] = [];
  const list = (value: string | readonly string[]): string[] => (typeof value === 'string' ? [value] : [...value]);
  if (filter?.package !== undefined) {
    values.push(list(filter.package));
    conditions.push(`p.package = ANY($${firstParameter + values.length - 1}::text[])`);
  }
  if (filter?.version !== undefined) {
    values.push(list(filter.version));
    conditions.push(`p.package_version = ANY($${firstParameter + values.length - 1}::text[])`);
  }
  if (filter?.kind !== undefined) {
    values.push(list(filter.kind));
    conditions.push(`p.kind = ANY($${firstParameter + values.length - 1}::text[])`);
  }
  if (filter?.deprecated !== undefined) {
    values.push(filter.deprecated);
    conditions.push(`p.deprecated = $${firstParameter + values.length - 1}`);
  }
  return { sql: conditions.map((condition) => `AND ${condition}`).join(' '), values };
}

function vectorLiteral(vector: Float32Array): string {
  let text = '[';
  for (let position = 0; position < vector.length; position++) {
    const value = vector[position] as number;
    if (!Number.isFinite(value)) throw new InvalidArgumentError({ argument: 'vector', message: `holds a non-finite value at ${position}` });
    text += (position === 0 ? '' : ',') + String(value);
  }
  return `${text}]`;
}

/** Parses pgvector's text form (`[1,2,3]`). */
function parseVector(text: string | undefined): Float32Array {
  const body = (text ?? '').trim().replace(/^\[|\]$/g, '');
  return body === '' ? new Float32Array(0) : Float32Array.from(body.split(','), Number);
}

/** Decodes pgvector's binary form (`vector_send`: int16 dimension, int16 unused, big-endian float32s). */
function decodeVector(bytes: Uint8Array | undefined): Float32Array {
  if (bytes === undefined || bytes.length < 4) throw new DocsStoreError({ reason: 'corrupt', message: 'a stored vector is missing' });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dimension = view.getInt16(0);
  if (bytes.length !== 4 + 4 * dimension) throw new DocsStoreError({ reason: 'corrupt', message: `a stored vector of ${dimension} dimensions has ${bytes.length} bytes` });
  const vector = new Float32Array(dimension);
  for (let position = 0; position < dimension; position++) vector[position] = view.getFloat32(4 + 4 * position);
  return vector;
}
