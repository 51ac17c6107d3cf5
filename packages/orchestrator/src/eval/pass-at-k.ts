import { InvalidArgumentError } from '@codestack/core';

/**
 * The unbiased pass@k estimator of Chen et al. (2021): with `n` samples of which `c` passed,
 * the probability that at least one of `k` samples drawn without replacement passes,
 * `1 - C(n - c, k) / C(n, k)`, computed as a stable product.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError({ argument: 'n', message: 'must be a positive integer' });
  if (!Number.isInteger(c) || c < 0 || c > n) throw new InvalidArgumentError({ argument: 'c', message: `must be an integer in [0, ${n}]` });
  if (!Number.isInteger(k) || k < 1 || k > n) throw new InvalidArgumentError({ argument: 'k', message: `must be an integer in [1, ${n}]` });
  if (n - c < k) return 1;
  let allFail = 1;
  for (let index = n - c + 1; index <= n; index += 1) allFail *= 1 - k / index;
  return 1 - allFail;
}
