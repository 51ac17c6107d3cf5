/** The default `k` of reciprocal-rank fusion, from Cormack, Clarke and Büttcher (2009). */
export const defaultFusionK = 60;

/**
 * Fuses ranked id lists: each id scores the sum of `weight / (k + rank)` over the lists it appears
 * in (ranks are 1-based; weights default to 1). Returns the fused scores, best first.
 */
export function reciprocalRankFusion(
  rankings: readonly (readonly string[])[],
  k = defaultFusionK,
  weights: readonly number[] = [],
): { id: string; score: number }[] {
  const scores = new Map<string, number>();
  rankings.forEach((ranking, list) => {
    const weight = weights[list] ?? 1;
    ranking.forEach((id, index) => scores.set(id, (scores.get(id) ?? 0) + weight / (k + index + 1)));
  });
  return [...scores]
    .map(([id, score]) => ({ id, score }))
    .sort((left, right) => right.score - left.score || (left.id < right.id ? -1 : 1));
}
