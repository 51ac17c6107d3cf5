import { describe, expect, it } from 'vitest';
import { Bm25Index } from './bm25-index.js';

function sample(): Bm25Index {
  const index = new Bm25Index();
  index.upsert('read', { names: 'fs.readFileSync', signatures: 'readFileSync(path): Buffer', documentation: 'Reads the whole file.' });
  index.upsert('write', { names: 'fs.writeFileSync', signatures: 'writeFileSync(path, data)', documentation: 'Writes data to a file.' });
  index.upsert('server', { names: 'http.createServer', signatures: 'createServer()', documentation: 'Returns a new server.' });
  return index;
}

describe('Bm25Index', () => {
  it('matches identifier parts and ranks name matches first', () => {
    const hits = sample().search('read file sync', 3);
    expect(hits[0]?.id).toBe('read');
    expect(hits.map((hit) => hit.id)).not.toContain('server');
    expect(hits[0]?.score).toBeGreaterThan(hits[1]?.score ?? 0);
  });

  it('replaces and deletes documents', () => {
    const index = sample();
    index.upsert('server', { names: 'net.createServer', signatures: '', documentation: 'reads file sync' });
    expect(index.size).toBe(3);
    expect(index.search('http', 3)).toEqual([]);
    expect(index.delete('read')).toBe(true);
    expect(index.delete('read')).toBe(false);
    expect(index.search('readFileSync', 3).map((hit) => hit.id)).not.toContain('read');
  });

  it('applies the filter while scoring and the prior to the score', () => {
    const index = sample();
    expect(index.search('file', 3, (id) => id !== 'read').map((hit) => hit.id)).toEqual(['write']);
    const weighted = new Bm25Index();
    weighted.upsert('a', { names: 'alpha', signatures: '', documentation: 'same text' });
    weighted.upsert('b', { names: 'alpha', signatures: '', documentation: 'same text' }, 0.5);
    const [first, second] = weighted.search('alpha', 2);
    expect(first?.id).toBe('a');
    expect(second?.score).toBeCloseTo((first?.score ?? 0) / 2, 10);
  });
});
