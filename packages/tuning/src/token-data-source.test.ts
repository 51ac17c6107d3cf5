import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import { TokenDataSource } from './token-data-source.js';

describe('TokenDataSource', () => {
  const pairs = [
    { prompt: [1, 2, 3], completion: [4, 5] },
    { prompt: [6, 7], completion: [8, 9, 10] },
  ];

  it('masks prompt→completion rows to the completion targets and draws rows with a seeded generator', async () => {
    const source = new TokenDataSource({ pairs }, { sequenceLength: 6, vocabularySize: 16, seed: 2 });
    const batch = await source.next(4, 6);
    expect(batch.batchSize).toBe(4);
    for (let row = 0; row < 4; row++) {
      const inputs = [...batch.inputs.subarray(row * 6, row * 6 + 6)];
      const mask = [...batch.mask!.subarray(row * 6, row * 6 + 6)];
      // Only the targets that are completion tokens count.
      expect(mask).toEqual(inputs[0] === 1 ? [0, 0, 1, 1, 0, 0] : [0, 1, 1, 1, 0, 0]);
    }
    const again = new TokenDataSource({ pairs }, { sequenceLength: 6, vocabularySize: 16, seed: 2 });
    expect([...(await again.next(4, 6)).inputs]).toEqual([...batch.inputs]);
  });

  it('resumes from its position: a restored fresh source draws the same rows', async () => {
    const source = new TokenDataSource({ sequences: [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]] }, { sequenceLength: 4, vocabularySize: 16, seed: 7 });
    await source.next(3, 4);
    const position = JSON.parse(JSON.stringify(source.position())) as ReturnType<TokenDataSource['position']>;
    const expected = [await source.next(3, 4), await source.next(3, 4)];
    const resumed = new TokenDataSource({ sequences: [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]] }, { sequenceLength: 4, vocabularySize: 16, seed: 99 });
    resumed.restore(position);
    for (const batch of expected) expect([...(await resumed.next(3, 4)).inputs]).toEqual([...batch.inputs]);
    await expect(resumed.next(3, 5)).rejects.toThrow(InvalidArgumentError);
    expect(() => resumed.restore({ randomState: [1, 2] as unknown as [number, number, number, number] })).toThrow(InvalidArgumentError);
  });
});
