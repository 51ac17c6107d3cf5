/** The default `k` of reciprocal-rank fusion, from Cormack, Clarke and Büttcher (2009). */
export const defaultFusionK = 60;

/**
 * Fuses ranked id lists: each id scores the sum of `1 / (k + rank)` over the lists it appears in
 * (ranks are 1-based). Returns the fused scores, best first.
 */
export function reciprocalRankFusion(rankings: readonly (readonly string[])[], k = defaultFusionK): { id: string; score: number }[] {
  const scores = new Map<string, number>();
  for (const ranking of rankings) {
    ranking.forEach((id, index) => scores.set(id, (scores.get(id) ?? 0) + 1 / (k + index + 1)));
  }
  return [...scores]
    .map(([id, score]) => ({ id, score }))
    .sort((left, right) => right.score - left.score || (left.id < right.id ? -1 : 1));
}
