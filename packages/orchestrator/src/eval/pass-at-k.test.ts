import { describe, expect, it } from 'vitest';
import { passAtK } from './pass-at-k.js';

function binomial(n: number, k: number): number {
  let result = 1;
  for (let index = 1; index <= k; index += 1) result = (result * (n - k + index)) / index;
  return result;
}

describe('passAtK', () => {
  it('is the share of passing samples for k = 1', () => {
    expect(passAtK(10, 3, 1)).toBeCloseTo(0.3, 12);
    expect(passAtK(5, 0, 1)).toBe(0);
    expect(passAtK(5, 5, 1)).toBe(1);
  });

  it('matches 1 - C(n-c, k) / C(n, k) computed directly', () => {
    for (const [n, c, k] of [
      [10, 2, 5],
      [20, 1, 10],
      [7, 3, 2],
    ] as const) {
      expect(passAtK(n, c, k)).toBeCloseTo(1 - binomial(n - c, k) / binomial(n, k), 12);
    }
  });

  it('is 1 when fewer than k samples failed', () => {
    expect(passAtK(10, 8, 3)).toBe(1);
  });

  it('refuses impossible counts with a typed error', () => {
    expect(() => passAtK(5, 6, 1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'c' }));
    expect(() => passAtK(5, 1, 6)).toThrow(expect.objectContaining({ argument: 'k' }));
  });
});
