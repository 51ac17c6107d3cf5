import pg from 'pg';
import type { ThrowawayPostgres } from './postgres-server.js';

/** Runs `work` with a plain `pg` client on `connectionString`, closed afterwards however `work` ends. */
export async function withClient<T>(connectionString: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates the empty database `name` on `server` and returns its connection string. */
export async function createDatabase(server: ThrowawayPostgres, name: string): Promise<string> {
  await withClient(server.connectionString, (client) => client.query(`CREATE DATABASE ${name}`));
  return server.connectionStringOf(name);
}

/** What {@link createFormat1Store} records and how. */
export interface Format1Store {
  /** The recorded embedder's id. */
  embedderId: string;
  /** Its state, stored as JSON (none when omitted). */
  embedderState?: unknown;
  /** The dimension of the `embedding` column. */
  dimension: number;
  /** Whether the pieces have format 1's `lexical` tsvector column (and its index); default true. */
  lexical?: boolean;
}

/**
 * Creates, through `client`, the empty store format 1 wrote (a `tsvector` ranked by `ts_rank`): the
 * pgvector extension, `codestack_docs_store` with its row, and `codestack_docs_pieces` with its
 * indexes; rows go in as `(package, package_version, id, kind, deprecated, entry, prior, lexical,
 * embedding)`.
 */
export async function createFormat1Store(client: pg.Client, store: Format1Store): Promise<void> {
  const lexical = store.lexical ?? true;
  await client.query('CREATE EXTENSION IF NOT EXISTS vector');
  await client.query(`CREATE TABLE codestack_docs_store (singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    format_version integer NOT NULL, embedder_id text NOT NULL, dimension integer NOT NULL, embedder_state text)`);
  await client.query('INSERT INTO codestack_docs_store (format_version, embedder_id, dimension, embedder_state) VALUES (1, $1, $2, $3)', [
    store.embedderId,
    store.dimension,
    store.embedderState === undefined ? null : JSON.stringify(store.embedderState),
  ]);
  await client.query(`CREATE TABLE codestack_docs_pieces (package text NOT NULL, package_version text NOT NULL, id text NOT NULL, kind text NOT NULL,
    deprecated boolean NOT NULL, entry jsonb NOT NULL, prior real NOT NULL, ${lexical ? 'lexical tsvector NOT NULL, ' : ''}embedding vector(${store.dimension}) NOT NULL,
    PRIMARY KEY (package, package_version, id))`);
  await client.query('CREATE INDEX codestack_docs_pieces_embedding ON codestack_docs_pieces USING hnsw (embedding vector_cosine_ops)');
  if (lexical) await client.query('CREATE INDEX codestack_docs_pieces_lexical ON codestack_docs_pieces USING gin (lexical)');
  await client.query('CREATE INDEX codestack_docs_pieces_kind ON codestack_docs_pieces (kind)');
}
