import { describe, expect, it } from 'vitest';
import { AbortedError } from '@codestack/core';
import { DocsStoreError } from './docs-store-error.js';
import { sessionOver, type PostgresClient } from './postgres-session.js';

/** A one-connection pg-like client whose statements fail with `code` after 50 ms (no cancel key, so no cancel request is sent). */
const failingClient = (code: string): PostgresClient => ({
  query: (text) =>
    text === 'SELECT 1'
      ? new Promise((_, reject) => setTimeout(() => reject(Object.assign(new Error(`failed with ${code}`), { code })), 50))
      : Promise.resolve({ rows: [] }),
});

describe('a pg session classifying a failed statement', () => {
  it('reports a cancel (57014) after the signal fired as AbortedError, and another error as the database error it is', async () => {
    for (const [code, expected] of [
      ['57014', AbortedError],
      ['23505', DocsStoreError],
    ] as const) {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 10);
      const error = await sessionOver(failingClient(code))
        .query('SELECT 1', undefined, { operation: 'unit', signal: controller.signal })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(expected);
    }
    // A statement_timeout answers 57014 too: without an aborted signal it is a database error.
    await expect(sessionOver(failingClient('57014')).query('SELECT 1', undefined, { operation: 'unit' })).rejects.toThrow(DocsStoreError);
  });
});
