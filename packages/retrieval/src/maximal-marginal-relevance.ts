/** One candidate of {@link maximalMarginalRelevance}. */
export interface RelevanceCandidate {
  /** The candidate's id. */
  id: string;
  /** Its relevance to the query (any scale; normalised internally). */
  relevance: number;
  /** Its unit-length vector, compared by dot product. */
  vector: Float32Array;
}

/**
 * Picks `topK` candidates by maximal marginal relevance: each step takes the candidate with the
 * best `lambda * relevance - (1 - lambda) * (highest similarity to any picked one)`, so
 * near-duplicates (the same API in `fs` and `fs.promises`) give way to different answers.
 * `lambda` 1 is plain relevance order, 0 is pure diversity.
 */
export function maximalMarginalRelevance(candidates: readonly RelevanceCandidate[], topK: number, lambda: number): string[] {
  const maximum = Math.max(...candidates.map((candidate) => candidate.relevance), Number.MIN_VALUE);
  const remaining = candidates.map((candidate) => ({ ...candidate, relevance: candidate.relevance / maximum }));
  const picked: RelevanceCandidate[] = [];
  while (picked.length < topK && remaining.length > 0) {
    let bestIndex = 0;
    let bestScore = -Infinity;
    remaining.forEach((candidate, index) => {
      let redundancy = 0;
      for (const chosen of picked) redundancy = Math.max(redundancy, dot(candidate.vector, chosen.vector));
      const score = lambda * candidate.relevance - (1 - lambda) * redundancy;
      if (score > bestScore) {
        bestScore = score;
        bestIndex = index;
      }
    });
    const [chosen] = remaining.splice(bestIndex, 1);
    if (chosen !== undefined) picked.push(chosen);
  }
  return picked.map((candidate) => candidate.id);
}

function dot(left: Float32Array, right: Float32Array): number {
  let sum = 0;
  for (let index = 0; index < left.length; index++) sum += (left[index] ?? 0) * (right[index] ?? 0);
  return sum;
}
