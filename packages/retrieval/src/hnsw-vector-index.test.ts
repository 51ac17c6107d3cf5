import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { FileFormatError, InvalidArgumentError } from '@codestack/core';
import { EmbedderMismatchError } from './embedder-mismatch-error.js';
import { HnswVectorIndex, checkHnswGraph, maximumSearchEf } from './hnsw-vector-index.js';

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

  it.each([
    ['ef', -5],
    ['ef', 1e9],
    ['ef', 'x'],
    ['ef', Number.NaN],
    ['m', 1],
    ['m', 1e6],
    ['efConstruction', 0],
    ['initialCapacity', 1e12],
    ['randomSeed', -1],
  ])('refuses %s %s before hnswlib allocates anything', (option, value) => {
    const error = (() => {
      try {
        new HnswVectorIndex(8, { [option]: value });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe(option);
  });

  it('refuses a dimension of 1e9 and a search ef out of range', () => {
    expect(() => new HnswVectorIndex(1e9)).toThrow(InvalidArgumentError);
    const index = new HnswVectorIndex(8);
    index.upsert('a', vector(1));
    expect(() => index.search(vector(1), { topK: 1, ef: maximumSearchEf + 1 })).toThrow(InvalidArgumentError);
    expect(() => (index.ef = -5)).toThrow(InvalidArgumentError);
    expect(index.ef).toBe(64);
  });

  it('round-trips through bytes whose capacity is the element count, after deletes', async () => {
    const index = new HnswVectorIndex(8, { initialCapacity: 1000 });
    for (let seed = 0; seed < 40; seed++) index.upsert(`v${seed}`, vector(seed));
    index.delete('v5');
    index.delete('v6');
    const bytes = await index.toBytes(tmpdir());
    const header = checkHnswGraph(bytes, { path: 'graph.bin', dimension: 8, labels: index.labels() });
    expect(header).toMatchObject({ capacity: 40, elementCount: 40, degree: 16 });
    const loaded = await HnswVectorIndex.fromBytes(bytes, 'graph.bin', 8, index.labels());
    for (let seed = 0; seed < 40; seed += 7) {
      expect(loaded.search(vector(seed), { topK: 5 })).toEqual(index.search(vector(seed), { topK: 5 }));
    }
    // The loaded index grows past its saved capacity and reuses the deleted slots.
    for (let seed = 40; seed < 60; seed++) loaded.upsert(`v${seed}`, vector(seed));
    expect(loaded.size).toBe(58);
    expect(loaded.search(vector(59), { topK: 1 })[0]?.id).toBe('v59');
  });

  it("refuses graph bytes whose labels are not the label table's", async () => {
    const index = new HnswVectorIndex(8);
    for (let seed = 0; seed < 10; seed++) index.upsert(`v${seed}`, vector(seed));
    const bytes = await index.toBytes(tmpdir());
    const labels = index.labels();
    const shifted = { ...labels, labels: labels.labels.map(([id, label]): [string, number] => [id, label + 1]), nextLabel: labels.nextLabel + 1 };
    expect(() => checkHnswGraph(bytes, { path: 'graph.bin', dimension: 8, labels: shifted })).toThrow(FileFormatError);
    await expect(HnswVectorIndex.fromBytes(bytes, 'graph.bin', 16, labels)).rejects.toMatchObject({ code: 'MISMATCHED_FILE' });
  });
});
