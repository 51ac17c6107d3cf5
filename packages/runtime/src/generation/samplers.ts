import type { SeededRandom } from '../random/seeded-random.js';
import { softmax } from './logits-processors.js';

/** Picks the next token from processed logits. */
export interface Sampler {
  /** Returns the chosen token id. */
  sample(logits: Float32Array): number;
}

/** Always picks the most likely token (the lowest id on ties). */
export class GreedySampler implements Sampler {
  /** Returns the chosen token id. */
  sample(logits: Float32Array): number {
    let best = 0;
    for (let index = 1; index < logits.length; index++) if ((logits[index] as number) > (logits[best] as number)) best = index;
    return best;
  }
}

/** Draws a token from softmax(logits) with a {@link SeededRandom}: the same seed gives the same tokens. */
export class MultinomialSampler implements Sampler {
  /** Creates the sampler around `random`, whose state advances by one draw per token. */
  constructor(readonly random: SeededRandom) {}

  /** Returns the chosen token id. */
  sample(logits: Float32Array): number {
    const probabilities = softmax(logits);
    const draw = this.random.nextFloat();
    let cumulative = 0;
    let last = 0;
    for (let index = 0; index < probabilities.length; index++) {
      const probability = probabilities[index] as number;
      if (probability === 0) continue;
      last = index;
      cumulative += probability;
      if (draw < cumulative) return index;
    }
    return last;
  }
}
