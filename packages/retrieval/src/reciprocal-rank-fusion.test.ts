import { describe, expect, it } from 'vitest';
import { maximalMarginalRelevance } from './maximal-marginal-relevance.js';
import { reciprocalRankFusion } from './reciprocal-rank-fusion.js';

describe('reciprocalRankFusion', () => {
  it('sums weighted reciprocal ranks', () => {
    const fused = reciprocalRankFusion([['a', 'b'], ['b', 'c']], 10, [1, 0.5]);
    expect(fused.map((item) => item.id)).toEqual(['b', 'a', 'c']);
    expect(fused[0]?.score).toBeCloseTo(1 / 12 + 0.5 / 11, 12);
    expect(fused[2]?.score).toBeCloseTo(0.5 / 12, 12);
  });
});

describe('maximalMarginalRelevance', () => {
  it('lets a near-duplicate give way to a different answer', () => {
    const unit = (x: number, y: number): Float32Array => Float32Array.from([x / Math.hypot(x, y), y / Math.hypot(x, y)]);
    const candidates = [
      { id: 'first', relevance: 1, vector: unit(1, 0) },
      { id: 'duplicate', relevance: 0.95, vector: unit(1, 0.01) },
      { id: 'different', relevance: 0.8, vector: unit(0, 1) },
    ];
    expect(maximalMarginalRelevance(candidates, 2, 1)).toEqual(['first', 'duplicate']);
    expect(maximalMarginalRelevance(candidates, 2, 0.5)).toEqual(['first', 'different']);
  });
});
