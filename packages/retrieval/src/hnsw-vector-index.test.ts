import { describe, expect, it } from 'vitest';
import { EmbedderMismatchError } from './embedder-mismatch-error.js';
import { HnswVectorIndex } from './hnsw-vector-index.js';

/** A deterministic unit vector for `seed`. */
function vector(seed: number, dimension = 8): Float32Array {
  const values = Float32Array.from({ length: dimension }, (_, index) => Math.sin(seed * 12.9898 + index * 78.233));
  const norm = Math.hypot(...values);
  return values.map((value) => value / norm);
}

describe('HnswVectorIndex', () => {
  it('finds the exact vector first with cosine similarity 1', () => {
    const index = new HnswVectorIndex(8, { initialCapacity: 16 });
    for (let seed = 0; seed < 50; seed++) index.upsert(`v${seed}`, vector(seed));
    const [hit] = index.search(vector(7), { topK: 3 });
    expect(hit?.id).toBe('v7');
    expect(hit?.similarity).toBeCloseTo(1, 5);
  });

  it('resizes itself when full', () => {
    const index = new HnswVectorIndex(8, { initialCapacity: 16 });
    for (let seed = 0; seed < 40; seed++) index.upsert(`v${seed}`, vector(seed));
    expect(index.size).toBe(40);
    expect(index.capacity).toBeGreaterThanOrEqual(40);
  });

  it('deletes with markDelete and reuses the slot for the next insert', () => {
    const index = new HnswVectorIndex(8, { initialCapacity: 16 });
    for (let seed = 0; seed < 16; seed++) index.upsert(`v${seed}`, vector(seed));
    expect(index.delete('v3')).toBe(true);
    expect(index.delete('v3')).toBe(false);
    expect(index.search(vector(3), { topK: 16 }).map((hit) => hit.id)).not.toContain('v3');
    index.upsert('new', vector(99));
    expect(index.capacity).toBe(16);
    expect(index.search(vector(99), { topK: 1 })[0]?.id).toBe('new');
  });

  it('updates a vector in place on upsert of an existing id', () => {
    const index = new HnswVectorIndex(8);
    index.upsert('a', vector(1));
    index.upsert('b', vector(2));
    index.upsert('a', vector(3));
    expect(index.size).toBe(2);
    expect(index.search(vector(3), { topK: 1 })[0]).toMatchObject({ id: 'a' });
  });

  it('applies the filter inside the search', () => {
    const index = new HnswVectorIndex(8);
    for (let seed = 0; seed < 30; seed++) index.upsert(`v${seed}`, vector(seed));
    const hits = index.search(vector(4), { topK: 5, filter: (id) => Number(id.slice(1)) % 2 === 1 });
    expect(hits).toHaveLength(5);
    expect(hits.every((hit) => Number(hit.id.slice(1)) % 2 === 1)).toBe(true);
  });

  it('refuses a vector of the wrong dimension with a typed error', () => {
    const index = new HnswVectorIndex(8);
    expect(() => index.upsert('x', vector(1, 4))).toThrow(EmbedderMismatchError);
    expect(() => index.search(vector(1, 16), { topK: 1 })).toThrow(EmbedderMismatchError);
  });
});
