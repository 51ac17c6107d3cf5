import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortedError } from '@codestack/core';
import { DocsStoreError } from './docs-store-error.js';
import { describePostgresDocsStoreConformance } from './__fixtures__/postgres-docs-store-conformance.js';
import {
  findPostgresInstallation,
  startThrowawayPostgres,
  throwawayPostgresStartLimit,
  throwawayPostgresStopLimit,
  type ThrowawayPostgres,
} from './__fixtures__/postgres-server.js';
import { openPostgresSession, sessionOver, type PostgresSession } from './postgres-session.js';
import { PostgresDocsStore } from './postgres-docs-store.js';
import { LocalEmbedder } from './local-embedder.js';
import { DocsIndex } from './docs-index.js';
import { createDatabase, createFormat1Store, withClient } from './__fixtures__/postgres-test-databases.js';
import { sampleEntries } from './__fixtures__/sample-entries.js';

// A real PostgreSQL server, started here in a temporary directory on a free loopback port and
// stopped at the end: run when the machine has one installed (and, for the store, pgvector).
const installation = findPostgresInstallation();
const serverSkip = installation.available ? undefined : installation.reason;
const vectorSkip = serverSkip ?? (installation.available && !installation.hasVector ? `${installation.version} has no pgvector extension (vector.control)` : undefined);

let server: ThrowawayPostgres | undefined;
let starting: Promise<ThrowawayPostgres> | undefined;
let databases = 0;

// The hook outlasts every limit of the start (initdb, pg_ctl start, stopping a failed start). A start
// that fails cleans up after itself; afterAll waits for a start still under way and stops what it
// started, so nothing outlives the run.
beforeAll(async () => {
  if (!installation.available) return;
  starting = startThrowawayPostgres(installation);
  server = await starting;
}, throwawayPostgresStartLimit + 10_000);
afterAll(async () => {
  const started = await starting?.catch(() => undefined);
  await started?.stop();
}, throwawayPostgresStartLimit + throwawayPostgresStopLimit);

const requireServer = (): ThrowawayPostgres => {
  if (server === undefined) throw new Error('the throwaway server did not start');
  return server;
};

describe.skipIf(serverSkip !== undefined)(`cancelling statements on a real PostgreSQL server${serverSkip === undefined ? '' : ` (skipped: ${serverSkip})`}`, () => {
  const sleepingBackends = async (): Promise<number> => {
    const client = new pg.Client({ connectionString: requireServer().connectionString });
    await client.connect();
    try {
      const result = await client.query<{ count: number }>("SELECT count(*)::integer AS count FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(%' AND state = 'active'");
      return result.rows[0]?.count ?? -1;
    } finally {
      await client.end();
    }
  };

  const expectCancelled = async (session: PostgresSession, inTransaction: boolean): Promise<void> => {
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(), 300);
    const options = { operation: 'sleep', signal: controller.signal };
    const sleeping = inTransaction ? session.run('write', (query) => query('SELECT pg_sleep(30)'), options) : session.query('SELECT pg_sleep(30)', undefined, options);
    await expect(sleeping).rejects.toThrow(AbortedError);
    // Stopped by the server on the cancel request, long before the 30 s sleep would end.
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(await sleepingBackends()).toBe(0);
    // The connection is usable, and outside any transaction.
    expect(await session.query('SELECT 1 AS one, now() = statement_timestamp() AS fresh', undefined, { operation: 'check' })).toEqual([{ one: 1, fresh: true }]);
  };

  it('cancels a running pg_sleep on one pg client, alone and inside a transaction', async () => {
    const client = new pg.Client({ connectionString: requireServer().connectionString });
    await client.connect();
    try {
      const session = sessionOver(client);
      expect(session.driver).toBe('pg');
      await expectCancelled(session, false);
      await expectCancelled(session, true);
    } finally {
      await client.end();
    }
  });

  it('rolls back a transaction whose settings the server refuses, so the connection stays usable', async () => {
    const refused = { operation: 'refused', settings: { work_mem: 'lots' } };
    const client = new pg.Client({ connectionString: requireServer().connectionString });
    await client.connect();
    // One pooled connection: a transaction left open and aborted would be handed to the next caller.
    const pool = new pg.Pool({ connectionString: requireServer().connectionString, max: 1 });
    try {
      for (const session of [sessionOver(client), sessionOver(pool)]) {
        await expect(session.run('read', (query) => query('SELECT 1'), refused)).rejects.toThrow(/work_mem/);
        expect(await session.query('SELECT 1 AS one, now() = statement_timestamp() AS fresh', undefined, { operation: 'check' })).toEqual([{ one: 1, fresh: true }]);
        expect(await session.run('write', (query) => query("SELECT current_setting('work_mem') AS work_mem"), { operation: 'check', settings: { work_mem: '8MB' } })).toEqual([
          { work_mem: '8MB' },
        ]);
      }
    } finally {
      await client.end();
      await pool.end();
    }
  });

  it('cancels a running pg_sleep on a pool opened by connection string', async () => {
    const session = await openPostgresSession(requireServer().connectionString);
    try {
      await expectCancelled(session, false);
      await expectCancelled(session, true);
      // An error that is not a cancel stays a DocsStoreError.
      await expect(session.query('SELECT no_such_column FROM pg_class', undefined, { operation: 'check' })).rejects.toThrow(DocsStoreError);
    } finally {
      await session.close();
    }
  });
});

describePostgresDocsStoreConformance(`a real PostgreSQL server${vectorSkip === undefined ? '' : ` (skipped: ${vectorSkip})`}`, () => ({
  cancelsRunningStatements: true,
  createDatabase: async () => {
    const name = `conformance_${++databases}`;
    return {
      connectionString: await createDatabase(requireServer(), name),
      close: async () => {
        await withClient(requireServer().connectionString, (client) => client.query(`DROP DATABASE ${name} WITH (FORCE)`));
      },
    };
  },
}), vectorSkip);

describe.skipIf(vectorSkip !== undefined)(`the writer lock${vectorSkip === undefined ? '' : ` (skipped: ${vectorSkip})`}`, () => {
  it("is namespaced to the store and its schema: the host's advisory locks and a store in another schema do not block a writer, the store's own key does", async () => {
    const connectionString = await createDatabase(requireServer(), 'writer_lock');
    const holder = new pg.Client({ connectionString });
    await holder.connect();
    const other = new pg.Client({ connectionString, options: '-c search_path=other,public' });
    await other.connect();
    try {
      await holder.query('CREATE EXTENSION vector');
      await holder.query('CREATE SCHEMA other');
      const embedder = await LocalEmbedder.fit(sampleEntries().map((entry) => entry.summary), { dimension: 8 });
      const otherStore = await PostgresDocsStore.connect({ client: other });
      await DocsIndex.open({ store: otherStore, embedder });
      // The host's own lock on the key the store used to take, and a writer of the store in schema
      // other holding its lock, both while the public store is written.
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(7301)');
      await other.query('BEGIN');
      await other.query(`SELECT pg_advisory_xact_lock(hashtext('codestack.docs_store'), hashtext('other'))`);
      const store = await PostgresDocsStore.connect({ connectionString });
      try {
        const writing = (async () => {
          const index = await DocsIndex.open({ store, embedder });
          await index.upsert(sampleEntries());
          return 'written';
        })();
        const outcome = await Promise.race([writing, new Promise((resolve) => setTimeout(() => resolve('blocked'), 10_000))]);
        expect(outcome).toBe('written');
        await other.query('COMMIT');
        await holder.query('COMMIT');
        expect(await otherStore.packages()).toEqual([]);
        expect((await store.packages()).length).toBeGreaterThan(0);
        // And the lock is taken: while the host holds this store's own key, a writer waits.
        await holder.query('BEGIN');
        await holder.query(`SELECT pg_advisory_xact_lock(hashtext('codestack.docs_store'), hashtext('public'))`);
        const waiting = (async () => {
          const index = await DocsIndex.open({ store, embedder });
          await index.deletePackage(sampleEntries()[0]!.package);
          return 'written';
        })();
        expect(await Promise.race([waiting, new Promise((resolve) => setTimeout(() => resolve('blocked'), 2_000))])).toBe('blocked');
        await holder.query('COMMIT');
        expect(await waiting).toBe('written');
      } finally {
        // Released in any case, so a blocked writer ends before its pool is closed (a ROLLBACK after COMMIT only warns).
        await other.query('ROLLBACK').catch(() => undefined);
        await holder.query('ROLLBACK').catch(() => undefined);
        await store.close();
      }
    } finally {
      await holder.end();
      await other.end();
    }
  }, 60_000);
});

describe.skipIf(vectorSkip !== undefined)(`upgrading a format 1 store without the privilege${vectorSkip === undefined ? '' : ` (skipped: ${vectorSkip})`}`, () => {
  it('reports another failed upgrade as the database error it is, not as a missing privilege', async () => {
    const connectionString = await createDatabase(requireServer(), 'upgrade_broken');
    await withClient(connectionString, async (owner) => {
      // Format 1, but without its tsvector column: the upgrade's DROP COLUMN lexical fails (42703).
      await createFormat1Store(owner, { embedderId: 'local', dimension: 8, lexical: false });
      const failed = await PostgresDocsStore.connect({ connectionString }).catch((error: unknown) => error);
      expect(DocsStoreError.isInstance(failed) && failed.reason).toBe('database');
      expect((failed as Error).message).toMatch(/lexical/);
      expect((await owner.query('SELECT format_version FROM codestack_docs_store')).rows).toEqual([{ format_version: 1 }]);
    });
  });

  it('refuses with outdated-format and changes nothing when the role may not alter the tables', async () => {
    const connectionString = await createDatabase(requireServer(), 'upgrade_refused');
    await withClient(requireServer().connectionString, (admin) => admin.query("CREATE ROLE docs_reader LOGIN PASSWORD 'reader'"));
    await withClient(connectionString, async (owner) => {
      // A store of format 1 owned by postgres, readable by docs_reader.
      const embedder = await LocalEmbedder.fit(sampleEntries().map((entry) => entry.summary), { dimension: 8 });
      await createFormat1Store(owner, { embedderId: embedder.id, embedderState: embedder.toState(), dimension: 8 });
      await owner.query('GRANT SELECT ON ALL TABLES IN SCHEMA public TO docs_reader');
      const refused = await PostgresDocsStore.connect({ connectionString: connectionString.replace('postgres@', 'docs_reader:reader@') }).catch((error: unknown) => error);
      expect(DocsStoreError.isInstance(refused) && refused.reason).toBe('outdated-format');
      expect((refused as Error).message).toMatch(/must be owner of table/);
      const unchanged = await owner.query("SELECT format_version, to_regclass('codestack_docs_terms') IS NULL AS no_terms FROM codestack_docs_store");
      expect(unchanged.rows).toEqual([{ format_version: 1, no_terms: true }]);
      // The owner upgrades it.
      const store = await PostgresDocsStore.connect({ connectionString });
      try {
        expect((await DocsIndex.open({ store })).embedder.id).toBe(embedder.id);
      } finally {
        await store.close();
      }
    });
  });
});
