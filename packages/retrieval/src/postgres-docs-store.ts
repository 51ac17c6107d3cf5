import { CodestackError, InvalidArgumentError, throwIfAborted } from '@codestack/core';
import { entryDocumentation, entryNames, entryPrior, type DocEntry } from './doc-entry.js';
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
import { identifierTokens } from './identifier-tokens.js';

/** The rows of one statement, as `pg` and PGlite both answer. */
export interface PostgresQueryResult {
  /** The rows. */
  rows: unknown[];
}

/**
 * A PostgreSQL client this store can use: a `pg` `Pool`, a connected `pg` `Client`, or a PGlite
 * database (with the pgvector extension loaded). Only the methods the store calls are named.
 */
export interface PostgresClient {
  /** Runs one statement with `$1`-style parameters. */
  query(text: string, values?: unknown[]): Promise<PostgresQueryResult>;
  /** `pg` `Pool`: checks a connection out (`release` returns it). */
  connect?(): Promise<unknown>;
  /** PGlite: runs `work` in a transaction. */
  transaction?(work: (transaction: { query(text: string, values?: unknown[]): Promise<PostgresQueryResult> }) => Promise<unknown>): Promise<unknown>;
}

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
  /** Cancels the connection and the schema check. */
  signal?: AbortSignal;
}

/** The store's schema version, recorded in `codestack_docs_store`; a store of another version is refused. */
export const postgresDocsStoreFormatVersion = 1;

type Runner = (text: string, values?: unknown[]) => Promise<unknown[]>;
type TransactionMode = 'read' | 'write';

interface Session {
  run<T>(mode: TransactionMode, work: (query: Runner) => Promise<T>): Promise<T>;
  query: Runner;
  close(): Promise<void>;
}

/**
 * A {@link DocsStore} on PostgreSQL with pgvector: one row per piece holding the entry (`jsonb`), its
 * package, version, kind and deprecation (filters run in SQL), a `tsvector` of its identifier tokens
 * (the lexical side, ranked by `ts_rank` under a GIN index) and its embedding (`vector(N)` under an
 * HNSW index with cosine distance). Runs against a server through `pg` or embedded on PGlite.
 *
 * A package version is replaced or deleted in one transaction, so a search, which reads both of its
 * rankings in one repeatable-read transaction, sees the old rows or the new ones, never a mix.
 */
export class PostgresDocsStore implements DocsStore {
  private dimension: number | undefined;

  private constructor(private readonly session: Session) {}

  /**
   * Opens a store by connection string or over a client, creates the pgvector extension when it is
   * missing, and checks the store's format version.
   * @throws InvalidArgumentError when neither or both of `connectionString` and `client` are given, or the string's scheme is unknown.
   * @throws DocsStoreError when a driver package is missing or the database refuses.
   */
  static async connect(options: ConnectPostgresDocsStoreOptions): Promise<PostgresDocsStore> {
    const { connectionString, client, signal } = options;
    if ((connectionString === undefined) === (client === undefined)) {
      throw new InvalidArgumentError({ argument: 'options', message: 'pass exactly one of connectionString and client' });
    }
    throwIfAborted(signal, 'PostgresDocsStore.connect');
    const session = client !== undefined ? sessionOver(client, false) : await openConnectionString(connectionString as string);
    const store = new PostgresDocsStore(session);
    try {
      await store.session.query('CREATE EXTENSION IF NOT EXISTS vector');
      throwIfAborted(signal, 'PostgresDocsStore.connect');
      await store.readEmbedder(signal === undefined ? {} : { signal });
    } catch (error) {
      await session.close().catch(() => undefined);
      throw error;
    }
    return store;
  }

  /** @inheritdoc */
  async readEmbedder(options: DocsStoreOperationOptions = {}): Promise<StoredEmbedder | undefined> {
    throwIfAborted(options.signal, 'PostgresDocsStore.readEmbedder');
    const [table] = await this.session.query("SELECT to_regclass('codestack_docs_store') IS NOT NULL AS present");
    if ((table as { present: boolean }).present !== true) return undefined;
    const [row] = await this.session.query('SELECT format_version, embedder_id, dimension, embedder_state FROM codestack_docs_store');
    if (row === undefined) return undefined;
    return this.checkStoreRow(row);
  }

  /** @inheritdoc */
  async initialize(embedder: StoredEmbedder, options: DocsStoreOperationOptions = {}): Promise<StoredEmbedder> {
    if (!Number.isInteger(embedder.dimension) || embedder.dimension < 1 || embedder.dimension > 16_000) {
      throw new InvalidArgumentError({ argument: 'embedder.dimension', message: `must be an integer in [1, 16000], got ${String(embedder.dimension)}` });
    }
    throwIfAborted(options.signal, 'PostgresDocsStore.initialize');
    return this.session.run('write', async (query) => {
      // One initialiser at a time; the second sees the first's row.
      await query('SELECT pg_advisory_xact_lock(7301)');
      await query(`CREATE TABLE IF NOT EXISTS codestack_docs_store (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        format_version integer NOT NULL,
        embedder_id text NOT NULL,
        dimension integer NOT NULL,
        embedder_state text)`);
      const [existing] = await query('SELECT format_version, embedder_id, dimension, embedder_state FROM codestack_docs_store');
      if (existing !== undefined) return this.checkStoreRow(existing);
      await query('INSERT INTO codestack_docs_store (format_version, embedder_id, dimension, embedder_state) VALUES ($1, $2, $3, $4)', [
        postgresDocsStoreFormatVersion,
        embedder.id,
        embedder.dimension,
        embedder.state === undefined ? null : JSON.stringify(embedder.state),
      ]);
      await query(`CREATE TABLE IF NOT EXISTS codestack_docs_pieces (
        package text NOT NULL,
        package_version text NOT NULL,
        id text NOT NULL,
        kind text NOT NULL,
        deprecated boolean NOT NULL,
        entry jsonb NOT NULL,
        prior real NOT NULL,
        lexical tsvector NOT NULL,
        embedding vector(${embedder.dimension}) NOT NULL,
        PRIMARY KEY (package, package_version, id))`);
      await query('CREATE INDEX IF NOT EXISTS codestack_docs_pieces_embedding ON codestack_docs_pieces USING hnsw (embedding vector_cosine_ops)');
      await query('CREATE INDEX IF NOT EXISTS codestack_docs_pieces_lexical ON codestack_docs_pieces USING gin (lexical)');
      await query('CREATE INDEX IF NOT EXISTS codestack_docs_pieces_kind ON codestack_docs_pieces (kind)');
      this.dimension = embedder.dimension;
      return { id: embedder.id, dimension: embedder.dimension, ...(embedder.state === undefined ? {} : { state: embedder.state }) };
    });
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
    await this.session.run('write', async (query) => {
      await query('SELECT pg_advisory_xact_lock(hashtext($1))', [packageName]);
      await query('DELETE FROM codestack_docs_pieces WHERE package = $1 AND package_version = $2', [packageName, packageVersion]);
      const batchSize = 200;
      for (let start = 0; start < pieces.length; start += batchSize) {
        throwIfAborted(options.signal, 'PostgresDocsStore.replacePackage');
        const batch = pieces.slice(start, start + batchSize);
        await query(
          `INSERT INTO codestack_docs_pieces (package, package_version, id, kind, deprecated, entry, prior, lexical, embedding)
           SELECT $1, $2, piece.id, piece.kind, piece.deprecated, piece.entry, piece.prior,
             setweight(to_tsvector('simple', piece.names), 'A') || setweight(to_tsvector('simple', piece.signatures), 'B') || to_tsvector('simple', piece.documentation),
             piece.embedding::vector
           FROM unnest($3::text[], $4::text[], $5::boolean[], $6::jsonb[], $7::real[], $8::text[], $9::text[], $10::text[], $11::text[])
             AS piece(id, kind, deprecated, entry, prior, names, signatures, documentation, embedding)`,
          [
            packageName,
            packageVersion,
            batch.map((piece) => piece.entry.id),
            batch.map((piece) => piece.entry.kind),
            batch.map((piece) => piece.entry.deprecated !== undefined),
            batch.map((piece) => JSON.stringify(piece.entry)),
            batch.map((piece) => entryPrior(piece.entry)),
            batch.map((piece) => identifierTokens(entryNames(piece.entry)).join(' ')),
            batch.map((piece) => identifierTokens(piece.entry.signatures.join('\n')).join(' ')),
            batch.map((piece) => identifierTokens(entryDocumentation(piece.entry)).join(' ')),
            batch.map((piece) => vectorLiteral(piece.vector)),
          ],
        );
      }
    });
  }

  /** @inheritdoc */
  async deletePackage(packageName: string, packageVersion?: string, options: DocsStoreOperationOptions = {}): Promise<number> {
    if ((await this.readEmbedder(options)) === undefined) return 0;
    return this.session.run('write', async (query) => {
      await query('SELECT pg_advisory_xact_lock(hashtext($1))', [packageName]);
      const rows =
        packageVersion === undefined
          ? await query('DELETE FROM codestack_docs_pieces WHERE package = $1 RETURNING 1', [packageName])
          : await query('DELETE FROM codestack_docs_pieces WHERE package = $1 AND package_version = $2 RETURNING 1', [packageName, packageVersion]);
      return rows.length;
    });
  }

  /** @inheritdoc */
  async packages(options: DocsStoreOperationOptions = {}): Promise<{ package: string; version: string; pieces: number }[]> {
    if ((await this.readEmbedder(options)) === undefined) return [];
    const rows = (await this.session.query(
      'SELECT package, package_version, count(*)::integer AS pieces FROM codestack_docs_pieces GROUP BY package, package_version ORDER BY package, package_version',
    )) as { package: string; package_version: string; pieces: number }[];
    return rows.map((row) => ({ package: row.package, version: row.package_version, pieces: row.pieces }));
  }

  /** @inheritdoc */
  async search(request: DocsStoreSearchRequest): Promise<DocsStoreSearchResult> {
    throwIfAborted(request.signal, 'PostgresDocsStore.search');
    await this.requireDimension(request.signal);
    const lexicalTokens = [...new Set((request.lexicalTokens ?? []).filter((token) => /^[a-z0-9]+$/.test(token)))];
    return this.session.run('read', async (query) => {
      const lexical: DocsStoreHit[] = [];
      const vector: DocsStoreHit[] = [];
      if (lexicalTokens.length > 0) {
        const where = filterSql(request.filter, 3);
        const rows = (await query(
          `SELECT package, package_version, id, entry, ts_rank(lexical, to_tsquery('simple', $1), 1) * prior AS score
           FROM codestack_docs_pieces WHERE lexical @@ to_tsquery('simple', $1) ${where.sql}
           ORDER BY score DESC, id LIMIT $2`,
          [lexicalTokens.join(' | '), request.candidates, ...where.values],
        )) as PieceRow[];
        for (const row of rows) lexical.push(hitOf(row));
      }
      throwIfAborted(request.signal, 'PostgresDocsStore.search');
      if (request.vector !== undefined) {
        await query("SELECT set_config('hnsw.ef_search', $1, true)", [String(Math.max(request.ef, request.candidates))]);
        const where = filterSql(request.filter, 3);
        // A filtered HNSW scan keeps going past filtered-out rows (pgvector >= 0.8) instead of returning fewer hits.
        if (where.sql !== '') await query("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)");
        const rows = (await query(
          `SELECT package, package_version, id, entry, embedding::text AS embedding, 1 - (embedding <=> $1::vector) AS score
           FROM codestack_docs_pieces WHERE true ${where.sql}
           ORDER BY embedding <=> $1::vector LIMIT $2`,
          [vectorLiteral(request.vector), request.candidates, ...where.values],
        )) as PieceRow[];
        for (const row of rows) vector.push({ ...hitOf(row), vector: parseVector(row.embedding ?? '[]') });
        vector.sort((left, right) => right.score - left.score);
      }
      return { lexical, vector };
    });
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    await this.session.close();
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
      throw new DocsStoreError({ reason: 'corrupt', message: `the store has format version ${String(row.format_version)}; this version reads ${postgresDocsStoreFormatVersion}` });
    }
    if (typeof row.embedder_id !== 'string' || typeof row.dimension !== 'number') {
      throw new DocsStoreError({ reason: 'corrupt', message: 'codestack_docs_store lacks the embedder id or dimension' });
    }
    this.dimension = row.dimension;
    const state = typeof row.embedder_state === 'string' ? (JSON.parse(row.embedder_state) as unknown) : row.embedder_state;
    return { id: row.embedder_id, dimension: row.dimension, ...(state === null || state === undefined ? {} : { state: state as NonNullable<StoredEmbedder['state']> }) };
  }
}

interface PieceRow {
  package: string;
  package_version: string;
  id: string;
  entry: unknown;
  score: number;
  embedding?: string;
}

function hitOf(row: PieceRow): DocsStoreHit {
  const entry = (typeof row.entry === 'string' ? JSON.parse(row.entry) : row.entry) as DocEntry;
  return { key: `${row.package}@${row.package_version}#${row.id}`, entry, score: Number(row.score) };
}

/** The filter as SQL conditions (`AND …`) with parameters numbered from `firstParameter`. */
function filterSql(filter: SearchFilter | undefined, firstParameter: number): { sql: string; values: unknown[] } {
  const conditions: string[] = [];
  const values: unknown[] = [];
  const list = (value: string | readonly string[]): string[] => (typeof value === 'string' ? [value] : [...value]);
  if (filter?.package !== undefined) {
    values.push(list(filter.package));
    conditions.push(`package = ANY($${firstParameter + values.length - 1}::text[])`);
  }
  if (filter?.version !== undefined) {
    values.push(list(filter.version));
    conditions.push(`package_version = ANY($${firstParameter + values.length - 1}::text[])`);
  }
  if (filter?.kind !== undefined) {
    values.push(list(filter.kind));
    conditions.push(`kind = ANY($${firstParameter + values.length - 1}::text[])`);
  }
  if (filter?.deprecated !== undefined) {
    values.push(filter.deprecated);
    conditions.push(`deprecated = $${firstParameter + values.length - 1}`);
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

function parseVector(text: string): Float32Array {
  const body = text.trim().replace(/^\[|\]$/g, '');
  return body === '' ? new Float32Array(0) : Float32Array.from(body.split(','), Number);
}

function wrapDatabaseError(error: unknown): unknown {
  if (CodestackError.isInstance(error)) return error;
  return new DocsStoreError({ reason: 'database', message: `PostgreSQL: ${error instanceof Error ? error.message : String(error)}`, cause: error });
}

function sessionOver(client: PostgresClient, owned: boolean, closeOwned?: () => Promise<void>): Session {
  const direct: Runner = async (text, values) => {
    try {
      return (await client.query(text, values)).rows;
    } catch (error) {
      throw wrapDatabaseError(error);
    }
  };
  const close = async (): Promise<void> => {
    if (owned && closeOwned !== undefined) await closeOwned();
  };
  if (typeof client.transaction === 'function') {
    // PGlite: one session; its transaction() holds the database's lock, so nothing interleaves.
    const transaction = client.transaction.bind(client);
    return {
      query: direct,
      close,
      run: async <T>(_mode: TransactionMode, work: (query: Runner) => Promise<T>): Promise<T> => {
        try {
          return (await transaction((inner) => work(async (text, values) => (await inner.query(text, values)).rows))) as T;
        } catch (error) {
          throw wrapDatabaseError(error);
        }
      },
    };
  }
  const begin = (mode: TransactionMode): string => (mode === 'read' ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN');
  if (typeof client.connect === 'function' && 'totalCount' in client) {
    // A pg Pool: each transaction on its own checked-out connection.
    const pool = client as unknown as { connect(): Promise<PostgresClient & { release(error?: unknown): void }> };
    return {
      query: direct,
      close,
      run: async <T>(mode: TransactionMode, work: (query: Runner) => Promise<T>): Promise<T> => {
        let connection: PostgresClient & { release(error?: unknown): void };
        try {
          connection = await pool.connect();
        } catch (error) {
          throw wrapDatabaseError(error);
        }
        return inTransaction(connection, begin(mode), work).finally(() => connection.release());
      },
    };
  }
  // One connection (a pg Client): transactions queue behind each other.
  let tail: Promise<unknown> = Promise.resolve();
  return {
    query: async (text, values) => {
      const result = tail.then(() => direct(text, values));
      tail = result.catch(() => undefined);
      return result;
    },
    close,
    run: <T>(mode: TransactionMode, work: (query: Runner) => Promise<T>): Promise<T> => {
      const result = tail.then(() => inTransaction(client, begin(mode), work));
      tail = result.catch(() => undefined);
      return result;
    },
  };
}

async function inTransaction<T>(connection: PostgresClient, begin: string, work: (query: Runner) => Promise<T>): Promise<T> {
  const query: Runner = async (text, values) => {
    try {
      return (await connection.query(text, values)).rows;
    } catch (error) {
      throw wrapDatabaseError(error);
    }
  };
  await query(begin);
  try {
    const result = await work(query);
    await query('COMMIT');
    return result;
  } catch (error) {
    await connection.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function importOptional(name: string, purpose: string): Promise<Record<string, unknown>> {
  try {
    return (await import(name)) as Record<string, unknown>;
  } catch (cause) {
    throw new DocsStoreError({ reason: 'missing-dependency', message: `${purpose} needs the optional package ${name}: npm install ${name}`, cause });
  }
}

async function openConnectionString(connectionString: string): Promise<Session> {
  if (/^postgres(ql)?:\/\//i.test(connectionString)) {
    const module = await importOptional('pg', 'a postgres:// store');
    const pg = (module.default ?? module) as { Pool: new (options: { connectionString: string; max?: number }) => PostgresClient & { end(): Promise<void>; on(event: 'error', listener: (error: Error) => void): void } };
    const pool = new pg.Pool({ connectionString, max: 4 });
    // An idle connection the server drops must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
    return sessionOver(pool, true, () => pool.end());
  }
  const embedded = /^pglite:(.*)$/i.exec(connectionString);
  if (embedded !== null) {
    const location = embedded[1] as string;
    const { PGlite } = (await importOptional('@electric-sql/pglite', 'a pglite: store')) as { PGlite: { create(options: object): Promise<PostgresClient & { close(): Promise<void> }> } };
    const { vector } = await importOptional('@electric-sql/pglite-pgvector', 'a pglite: store');
    let database: PostgresClient & { close(): Promise<void> };
    try {
      database = await PGlite.create({ ...(location === '' || location === 'memory' ? {} : { dataDir: location }), extensions: { vector } });
    } catch (cause) {
      throw new DocsStoreError({ reason: 'database', message: `cannot open the PGlite database at ${location}: ${cause instanceof Error ? cause.message : String(cause)}`, cause });
    }
    return sessionOver(database, true, () => database.close());
  }
  throw new InvalidArgumentError({
    argument: 'connectionString',
    message: `must start with postgres://, postgresql:// or pglite:, got ${JSON.stringify(connectionString.replace(/\/\/[^@/]*@/, '//…@'))}`,
  });
}
