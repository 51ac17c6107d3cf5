import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import { DocsIndex } from './docs-index.js';
import { EmbedderMismatchError } from './embedder-mismatch-error.js';
import { ExactVectorIndex } from './exact-vector-index.js';
import { HnswVectorIndex } from './hnsw-vector-index.js';
import { sampleEntries } from './__fixtures__/sample-entries.js';

/** Deterministic pseudo-random vectors (a linear congruential generator), so runs compare. */
function seededVectors(count: number, dimension: number, seed: number): Float32Array[] {
  let state = seed;
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31 - 0.5;
  };
  return Array.from({ length: count }, () => Float32Array.from({ length: dimension }, next));
}

describe('ExactVectorIndex', () => {
  it('gives the same top hits as hnswlib on a small index', () => {
    const exact = new ExactVectorIndex(16);
    const hnsw = new HnswVectorIndex(16, { ef: 200 });
    seededVectors(200, 16, 7).forEach((vector, index) => {
      exact.upsert(`v${index}`, vector);
      hnsw.upsert(`v${index}`, vector);
    });
    for (const query of seededVectors(10, 16, 99)) {
      const exactHits = exact.search(query, { topK: 5 });
      const hnswHits = hnsw.search(query, { topK: 5 });
      expect(exactHits.map((hit) => hit.id)).toEqual(hnswHits.map((hit) => hit.id));
      exactHits.forEach((hit, index) => expect(hit.similarity).toBeCloseTo(hnswHits[index]!.similarity, 4));
    }
  });

  it('upserts, deletes, filters and checks dimensions like the contract says', () => {
    const index = new ExactVectorIndex(2);
    index.upsert('east', Float32Array.of(1, 0));
    index.upsert('north', Float32Array.of(0, 3));
    index.upsert('north-east', Float32Array.of(1, 1));
    expect(index.size).toBe(3);
    expect(index.search(Float32Array.of(2, 0), { topK: 2 }).map((hit) => hit.id)).toEqual(['east', 'north-east']);
    expect(index.search(Float32Array.of(2, 0), { topK: 2, filter: (id) => id !== 'east' }).map((hit) => hit.id)).toEqual(['north-east', 'north']);
    expect(index.vectorOf('north')).toEqual(Float32Array.of(0, 1));
    expect(index.delete('east')).toBe(true);
    expect(index.delete('east')).toBe(false);
    expect(index.has('east')).toBe(false);
    expect(() => index.upsert('bad', Float32Array.of(1, 2, 3))).toThrow(EmbedderMismatchError);
    expect(() => new ExactVectorIndex(0)).toThrow(InvalidArgumentError);
  });
});

describe('DocsIndex over an injected vector index', () => {
  it('finds the same documents with ExactVectorIndex as with the default hnswlib store', async () => {
    const withHnsw = await DocsIndex.build(sampleEntries(), { dimension: 64 });
    const withExact = DocsIndex.create(withHnsw.embedder, { createVectorIndex: (dimension) => new ExactVectorIndex(dimension) });
    await withExact.upsert(sampleEntries());
    expect(withExact.size).toBe(withHnsw.size);
    for (const query of ['read a whole file as text', 'sha256 digest', 'write a file atomically']) {
      for (const mode of ['vector', 'hybrid'] as const) {
        const expected = (await withHnsw.search(query, { topK: 3, mode })).map((result) => result.entry.id);
        const actual = (await withExact.search(query, { topK: 3, mode })).map((result) => result.entry.id);
        expect(actual, `${mode}: ${query}`).toEqual(expected);
      }
    }
    expect((await withExact.search('sha256 digest', { topK: 2, mmr: true })).length).toBe(2);
  });

  it('refuses a factory of the wrong dimension, and saving a store that is not hnswlib', async () => {
    const withHnsw = await DocsIndex.build(sampleEntries(), { dimension: 64 });
    expect(() => DocsIndex.create(withHnsw.embedder, { createVectorIndex: () => new ExactVectorIndex(8) })).toThrow(InvalidArgumentError);
    const withExact = DocsIndex.create(withHnsw.embedder, { createVectorIndex: (dimension) => new ExactVectorIndex(dimension) });
    const directory = await mkdtemp(join(tmpdir(), 'codestack-exact-'));
    try {
      await expect(withExact.save(directory)).rejects.toThrow(InvalidArgumentError);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
