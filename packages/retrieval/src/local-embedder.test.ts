import { describe, expect, it } from 'vitest';
import { AbortedError, InvalidArgumentError } from '@codestack/core';
import { LocalEmbedder } from './local-embedder.js';

const corpus = [
  'readFileSync reads the entire contents of a file',
  'writeFileSync writes data to a file, replacing it',
  'createServer returns a new HTTP server',
  'createHash creates a hash object for a digest algorithm',
];

function cosine(left: Float32Array, right: Float32Array): number {
  let sum = 0;
  for (let index = 0; index < left.length; index++) sum += (left[index] ?? 0) * (right[index] ?? 0);
  return sum;
}

describe('LocalEmbedder', () => {
  it('gives deterministic unit vectors of its dimension', async () => {
    const embedder = await LocalEmbedder.fit(corpus, { dimension: 128 });
    const [first, again] = [...(await embedder.embed(['read a file'])), ...(await embedder.embed(['read a file']))];
    expect(first?.length).toBe(128);
    expect(Array.from(first ?? [])).toEqual(Array.from(again ?? []));
    expect(cosine(first as Float32Array, first as Float32Array)).toBeCloseTo(1, 5);
  });

  it('places a query nearest the document that shares its identifier parts', async () => {
    const embedder = await LocalEmbedder.fit(corpus, { dimension: 256 });
    const vectors = await embedder.embed(corpus);
    const [query] = await embedder.embed(['read file sync']);
    const similarities = vectors.map((vector) => cosine(query as Float32Array, vector));
    expect(similarities.indexOf(Math.max(...similarities))).toBe(0);
  });

  it('puts its fitted state in its id and round-trips that state', async () => {
    const first = await LocalEmbedder.fit(corpus, { dimension: 64 });
    const second = await LocalEmbedder.fit([...corpus, 'another document about files'], { dimension: 64 });
    expect(first.id).toMatch(/^local-ngram-v1-d64-[0-9a-f]{16}$/);
    expect(second.id).not.toBe(first.id);
    const restored = LocalEmbedder.fromState(JSON.parse(JSON.stringify(first.toState())));
    expect(restored.id).toBe(first.id);
    expect(Array.from((await restored.embed(['hash']))[0] ?? [])).toEqual(Array.from((await first.embed(['hash']))[0] ?? []));
  });

  it('refuses a bad dimension or state and honours an aborted signal', async () => {
    await expect(LocalEmbedder.fit(corpus, { dimension: 3 })).rejects.toSatisfy(InvalidArgumentError.isInstance);
    expect(() => LocalEmbedder.fromState({ kind: 'other' })).toThrow(InvalidArgumentError);
    const embedder = await LocalEmbedder.fit(corpus);
    await expect(embedder.embed(['x'], { signal: AbortSignal.abort() })).rejects.toSatisfy(AbortedError.isInstance);
  });
});
