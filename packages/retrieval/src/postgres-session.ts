import { AbortedError, CodestackError, InvalidArgumentError, throwIfAborted } from '@codestack/core';
import { connect as connectSocket } from 'node:net';
import { DocsStoreError } from './docs-store-error.js';

/** The rows of one statement, as `pg` and PGlite both answer. */
export interface PostgresQueryResult {
  /** The rows. */
  rows: unknown[];
}

/**
 * A PostgreSQL client a `PostgresDocsStore` can use: a `pg` `Pool`, a connected `pg` `Client`, or a
 * PGlite database (with the pgvector extension loaded). Only the methods the store calls are named.
 */
export interface PostgresClient {
  /** Runs one statement with `$1`-style parameters. */
  query(text: string, values?: unknown[]): Promise<PostgresQueryResult>;
  /** `pg` `Pool`: checks a connection out (`release` returns it). */
  connect?(): Promise<unknown>;
  /** PGlite: runs `work` in a transaction. */
  transaction?(work: (transaction: { query(text: string, values?: unknown[]): Promise<PostgresQueryResult> }) => Promise<unknown>): Promise<unknown>;
}

/** Runs one statement of a session and returns its rows. */
export type PostgresRunner = (text: string, values?: unknown[]) => Promise<unknown[]>;

/** A read transaction (repeatable read, read only) or a write transaction (read committed). */
export type PostgresTransactionMode = 'read' | 'write';

/** Names the operation for an `AbortedError` and carries the signal that cancels it. */
export interface PostgresStatementOptions {
  /** The operation, as an `AbortedError` names it. */
  operation: string;
  /** Cancels the operation: checked before each statement, and a running `pg` statement is cancelled on the server. */
  signal?: AbortSignal | undefined;
  /**
   * Settings for one transaction only (`SET LOCAL`), sent with its `BEGIN` in one round trip. Names
   * and values are the caller's own constants: letters, digits, `_` and `.` only.
   */
  settings?: Readonly<Record<string, string>>;
}

/**
 * What `PostgresDocsStore` runs its SQL through: single statements and transactions over a `pg`
 * pool, one `pg` client or PGlite, with cancellation. Over `pg`, an aborted signal sends the server
 * a cancel request for the statement running on that connection (PostgreSQL's own cancel protocol,
 * as `psql` sends on Ctrl-C), so a slow statement stops at once; the transaction is rolled back and
 * the call rejects with `AbortedError`. PGlite runs a statement to its end on the calling thread and
 * cannot be interrupted (nor can a statement sent to `@electric-sql/pglite-socket`, which ignores
 * cancel requests): there the signal is checked between statements.
 */
export interface PostgresSession {
  /** Runs `work` in one transaction, committed when it resolves and rolled back when it throws. */
  run<T>(mode: PostgresTransactionMode, work: (query: PostgresRunner) => Promise<T>, options: PostgresStatementOptions): Promise<T>;
  /** Runs one statement outside a transaction. */
  query(text: string, values: unknown[] | undefined, options: PostgresStatementOptions): Promise<unknown[]>;
  /**
   * The driver: `pg` (a server over the wire protocol), which cancels a running statement on the
   * server when the signal fires, or `pglite` (embedded), which runs it to its end.
   */
  readonly driver: 'pg' | 'pglite';
  /** Closes what the session opened itself. */
  close(): Promise<void>;
}

/** A connected `pg` `Client` (or a pool's checked-out client): what a cancel request needs. */
interface PgConnection extends PostgresClient {
  processID?: number | null;
  secretKey?: number | Uint8Array | null;
  host?: string;
  port?: number;
}

/** PostgreSQL's SQLSTATE for a statement stopped by a cancel request. */
const queryCanceled = '57014';

/** Wraps a driver error into a {@link DocsStoreError}; codestack errors pass through. */
export function wrapDatabaseError(error: unknown): unknown {
  if (CodestackError.isInstance(error)) return error;
  return new DocsStoreError({ reason: 'database', message: `PostgreSQL: ${error instanceof Error ? error.message : String(error)}`, cause: error });
}

/**
 * A session over `client`. `owned` sessions close it with `closeOwned`; a client passed in by a
 * caller stays open.
 */
export function sessionOver(client: PostgresClient, closeOwned?: () => Promise<void>): PostgresSession {
  const close = async (): Promise<void> => {
    if (closeOwned !== undefined) await closeOwned();
  };
  if (typeof client.transaction === 'function') return pgliteSession(client, close);
  if (typeof client.connect === 'function' && 'totalCount' in client) {
    // A pg Pool: each statement and each transaction on its own checked-out connection.
    const pool = client as unknown as { connect(): Promise<PgConnection & { release(error?: unknown): void }> };
    const withConnection = async <T>(use: (connection: PgConnection) => Promise<T>): Promise<T> => {
      let connection: PgConnection & { release(error?: unknown): void };
      try {
        connection = await pool.connect();
      } catch (error) {
        throw wrapDatabaseError(error);
      }
      let broken: unknown;
      try {
        return await use(connection);
      } catch (error) {
        if (error instanceof BrokenConnectionError) broken = error;
        throw error;
      } finally {
        // A connection whose rollback failed is destroyed rather than handed to the next caller.
        connection.release(broken);
      }
    };
    return {
      driver: 'pg',
      close,
      query: (text, values, options) => withConnection((connection) => cancellableQuery(connection, text, values, options)),
      run: (mode, work, options) => withConnection((connection) => inTransaction(connection, mode, work, options)),
    };
  }
  // One connection (a pg Client): statements and transactions queue behind each other.
  const connection = client as PgConnection;
  let tail: Promise<unknown> = Promise.resolve();
  const serialise = <T>(step: () => Promise<T>): Promise<T> => {
    const result = tail.then(step);
    tail = result.catch(() => undefined);
    return result;
  };
  return {
    driver: 'pg',
    close,
    query: (text, values, options) => serialise(() => cancellableQuery(connection, text, values, options)),
    run: (mode, work, options) => serialise(() => inTransaction(connection, mode, work, options)),
  };
}

function pgliteSession(client: PostgresClient, close: () => Promise<void>): PostgresSession {
  // One session; PGlite's transaction() holds the database's lock, so nothing interleaves.
  const transaction = (client.transaction as NonNullable<PostgresClient['transaction']>).bind(client);
  const statement = async (run: () => Promise<PostgresQueryResult>, options: PostgresStatementOptions): Promise<unknown[]> => {
    throwIfAborted(options.signal, options.operation);
    try {
      return (await run()).rows;
    } catch (error) {
      throw wrapDatabaseError(error);
    }
  };
  return {
    driver: 'pglite',
    close,
    query: (text, values, options) => statement(() => client.query(text, values), options),
    run: async (_mode, work, options) => {
      throwIfAborted(options.signal, options.operation);
      const settings = Object.entries(checkSettings(options.settings));
      try {
        return await (transaction(async (inner) => {
          if (settings.length > 0) await inner.query(`SELECT ${settings.map((_, position) => `set_config($${2 * position + 1}, $${2 * position + 2}, true)`).join(', ')}`, settings.flat());
          return work((text, values) => statement(() => inner.query(text, values), options));
        }) as Promise<Awaited<ReturnType<typeof work>>>);
      } catch (error) {
        throw wrapDatabaseError(error);
      }
    },
  };
}

/** Refuses a setting name or value that is not a plain word, since they are sent as SQL text. */
function checkSettings(settings: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> {
  for (const [name, value] of Object.entries(settings ?? {})) {
    if (!/^[a-z_][a-z0-9_.]*$/.test(name) || !/^[A-Za-z0-9_.]+$/.test(value)) {
      throw new InvalidArgumentError({ argument: 'settings', message: `${JSON.stringify(name)} = ${JSON.stringify(value)} is not a plain setting` });
    }
  }
  return settings ?? {};
}

/** A rollback failed: the connection's transaction state is unknown, so it is not reused. */
class BrokenConnectionError extends DocsStoreError {}

async function inTransaction<T>(
  connection: PgConnection,
  mode: PostgresTransactionMode,
  work: (query: PostgresRunner) => Promise<T>,
  options: PostgresStatementOptions,
): Promise<T> {
  const query: PostgresRunner = (text, values) => cancellableQuery(connection, text, values, options);
  // One simple-protocol message: BEGIN and the transaction's settings in one round trip.
  const settings = Object.entries(checkSettings(options.settings)).map(([name, value]) => `; SET LOCAL ${name} = '${value}'`);
  try {
    // Inside the try: once BEGIN has run, a setting the server refuses (or a cancel landing on the
    // message) leaves an open, aborted transaction that only a ROLLBACK ends; without one the
    // connection would go back to the pool and fail every later statement with 25P02. A ROLLBACK
    // outside a transaction only warns.
    await query(`${mode === 'read' ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN'}${settings.join('')}`);
    const result = await work(query);
    // A signal that fired during the last statement rolls back rather than commits.
    throwIfAborted(options.signal, options.operation);
    await query('COMMIT');
    return result;
  } catch (error) {
    // A cancel request that arrives late can stop the ROLLBACK itself: try once more, then give up the connection.
    const rolledBack = await connection.query('ROLLBACK').then(
      () => true,
      () => connection.query('ROLLBACK').then(() => true, () => false),
    );
    if (!rolledBack) {
      throw new BrokenConnectionError({ reason: 'database', message: 'PostgreSQL: the transaction could not be rolled back; the connection is closed', cause: error });
    }
    throw error;
  }
}

/**
 * Runs one statement on `connection`; when `options.signal` fires while it runs, sends the server a
 * cancel request for it and rejects with `AbortedError` once the server has stopped it.
 */
async function cancellableQuery(connection: PgConnection, text: string, values: unknown[] | undefined, options: PostgresStatementOptions): Promise<unknown[]> {
  const { signal, operation } = options;
  throwIfAborted(signal, operation);
  let cancelling: Promise<void> | undefined;
  const onAbort = (): void => {
    cancelling = sendCancelRequest(connection).catch(() => undefined);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return (await connection.query(text, values)).rows;
  } catch (error) {
    // Only the server's "canceling statement" answer to an aborted signal is an abort: another error
    // that happens to arrive while a cancel request is in flight (a constraint, a refused setting, a
    // dropped connection) is the database's own failure and is reported as one. A statement_timeout
    // also answers 57014, hence the signal check.
    if (signal?.aborted === true && (error as { code?: unknown }).code === queryCanceled) {
      throw new AbortedError({ operation, cause: signal?.reason ?? error });
    }
    throw wrapDatabaseError(error);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // A cancel request is delivered before the connection runs anything else: one landing late on the
    // next statement (another caller's, once a pool hands the connection on) would stop that one.
    // The server closes the cancel socket once it has signalled the backend, which ignores a cancel
    // that arrives while it waits for a command.
    if (cancelling !== undefined) await cancelling;
  }
}

/**
 * Sends PostgreSQL's CancelRequest for the statement running on `connection` over a new socket
 * (the protocol's own cancel: length 16, code 80877102, the backend's process id and secret key).
 * The server answers nothing and closes the socket; the statement fails with SQLSTATE 57014.
 */
async function sendCancelRequest(connection: PgConnection): Promise<void> {
  const { processID, secretKey, host, port } = connection;
  if (typeof processID !== 'number' || secretKey === null || secretKey === undefined || typeof port !== 'number') return;
  const key = typeof secretKey === 'number' ? int32(secretKey) : Buffer.from(secretKey);
  const message = Buffer.concat([int32(12 + key.length), int32(80877102), int32(processID), key]);
  const target = host === undefined || host === '' ? { host: 'localhost', port } : host.startsWith('/') ? { path: `${host}/.s.PGSQL.${port}` } : { host, port };
  await new Promise<void>((resolve, reject) => {
    const socket = connectSocket(target as { host: string; port: number }, () => socket.end(message));
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}

function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value | 0);
  return buffer;
}

async function importOptional(name: string, purpose: string): Promise<Record<string, unknown>> {
  try {
    return (await import(name)) as Record<string, unknown>;
  } catch (cause) {
    throw new DocsStoreError({ reason: 'missing-dependency', message: `${purpose} needs the optional package ${name}: npm install ${name}`, cause });
  }
}

/**
 * Opens a session by connection string: `postgres://…` / `postgresql://…` as a `pg` pool of 4
 * connections, `pglite:DIRECTORY` or `pglite:memory` as an embedded PGlite database with pgvector.
 * The session closes what it opened.
 */
export async function openPostgresSession(connectionString: string): Promise<PostgresSession> {
  if (/^postgres(ql)?:\/\//i.test(connectionString)) {
    const module = await importOptional('pg', 'a postgres:// store');
    const pg = (module.default ?? module) as {
      Pool: new (options: { connectionString: string; max?: number }) => PostgresClient & { end(): Promise<void>; on(event: 'error', listener: (error: Error) => void): void };
    };
    const pool = new pg.Pool({ connectionString, max: 4 });
    // An idle connection the server drops must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
    return sessionOver(pool, () => pool.end());
  }
  const embedded = /^pglite:(.*)$/i.exec(connectionString);
  if (embedded !== null) {
    const location = embedded[1] as string;
    const { PGlite } = (await importOptional('@electric-sql/pglite', 'a pglite: store')) as {
      PGlite: { create(options: object): Promise<PostgresClient & { close(): Promise<void> }> };
    };
    const { vector } = await importOptional('@electric-sql/pglite-pgvector', 'a pglite: store');
    let database: PostgresClient & { close(): Promise<void> };
    try {
      database = await PGlite.create({ ...(location === '' || location === 'memory' ? {} : { dataDir: location }), extensions: { vector } });
    } catch (cause) {
      throw new DocsStoreError({ reason: 'database', message: `cannot open the PGlite database at ${location}: ${cause instanceof Error ? cause.message : String(cause)}`, cause });
    }
    return sessionOver(database, () => database.close());
  }
  throw new InvalidArgumentError({
    argument: 'connectionString',
    message: `must start with postgres://, postgresql:// or pglite:, got ${JSON.stringify(connectionString.replace(/\/\/[^@/]*@/, '//…@'))}`,
  });
}
