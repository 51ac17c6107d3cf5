import { InvalidArgumentError } from '@codestack/core';
import { softmax, type LogitsProcessor, type LogitsProcessorStep } from './logits-processors.js';

/** One stored neighbour: the token that followed its key, and its distance to the query. */
export interface KnnNeighbour {
  /** The next-token id stored with the key. */
  token: number;
  /** Distance from the query to the key (squared L2 for the kNN-LM; smaller is nearer). */
  distance: number;
}

/** What {@link KnnLogitsProcessor} searches: keys (final hidden states) with the next token of each. */
export interface KnnDatastore {
  /** The at most `k` nearest stored keys to `vector`, with their next tokens. */
  search(vector: Float32Array, k: number): readonly KnnNeighbour[];
}

/** Options of {@link KnnLogitsProcessor}. */
export interface KnnLogitsProcessorOptions {
  /** Neighbours retrieved per step. Default 16. */
  k?: number;
  /** The weight λ of the kNN distribution, in [0, 1]. Default 0.25 (Khandelwal et al. 2020). */
  lambda?: number;
  /** Divides the negative distances before their softmax (> 0; larger flattens). Default 1. */
  temperature?: number;
}

/**
 * The kNN distribution: a softmax over the neighbours' negative distances (divided by
 * `temperature`), each neighbour's weight added to its token. Returns a sparse map token → probability.
 */
export function knnDistribution(neighbours: readonly KnnNeighbour[], temperature = 1): Map<number, number> {
  const result = new Map<number, number>();
  if (neighbours.length === 0) return result;
  let nearest = Infinity;
  for (const neighbour of neighbours) nearest = Math.min(nearest, neighbour.distance);
  let total = 0;
  const weights = neighbours.map((neighbour) => {
    const weight = Math.exp(-(neighbour.distance - nearest) / temperature);
    total += weight;
    return weight;
  });
  neighbours.forEach((neighbour, index) => result.set(neighbour.token, (result.get(neighbour.token) ?? 0) + (weights[index] as number) / total));
  return result;
}

/**
 * The kNN-LM (Khandelwal et al. 2020, "Generalization through Memorization") as a logits
 * processor: looks up the `k` stored keys nearest to the step's final hidden state, forms
 * `p_kNN` (see {@link knnDistribution}) and rewrites the logits to `log((1 − λ)·p_model + λ·p_kNN)`,
 * where `p_model` is the softmax of the logits it is given: pass it as `mixingProcessors` of
 * `generate`, so it mixes the model's own distribution and temperature, top-k and top-p then apply
 * to the mixture.
 * Needs the hidden state: the decoding loop reads it when this processor is among its processors.
 */
export class KnnLogitsProcessor implements LogitsProcessor {
  /** Asks the decoding loop for the step's hidden state. */
  readonly needsHiddenState = true;
  /** Neighbours per step. */
  readonly k: number;
  /** Weight of the kNN distribution. */
  readonly lambda: number;
  /** Temperature of the distance softmax. */
  readonly temperature: number;

  /** Creates the processor over `datastore`. */
  constructor(
    readonly datastore: KnnDatastore,
    options: KnnLogitsProcessorOptions = {},
  ) {
    this.k = options.k ?? 16;
    this.lambda = options.lambda ?? 0.25;
    this.temperature = options.temperature ?? 1;
    if (!Number.isInteger(this.k) || this.k < 1) throw new InvalidArgumentError({ argument: 'k', message: `expected a positive integer, got ${this.k}` });
    if (!(this.lambda >= 0 && this.lambda <= 1)) throw new InvalidArgumentError({ argument: 'lambda', message: `expected a number in [0, 1], got ${this.lambda}` });
    if (!(this.temperature > 0) || !Number.isFinite(this.temperature)) {
      throw new InvalidArgumentError({ argument: 'temperature', message: `expected a positive number, got ${this.temperature}` });
    }
  }

  /** The mixed next-token probabilities for `logits` and the query `hiddenState`. */
  probabilities(logits: Float32Array, hiddenState: Float32Array): Float64Array {
    const mixed = softmax(logits);
    if (this.lambda === 0) return mixed;
    const knn = knnDistribution(this.datastore.search(hiddenState, this.k), this.temperature);
    if (knn.size === 0) return mixed;
    for (let index = 0; index < mixed.length; index++) mixed[index] = (1 - this.lambda) * (mixed[index] as number);
    for (const [token, probability] of knn) {
      if (token >= 0 && token < mixed.length) mixed[token] = (mixed[token] as number) + this.lambda * probability;
    }
    return mixed;
  }

  /** Rewrites `logits` to the log of the mixed probabilities. */
  process(logits: Float32Array, _previousIds: readonly number[], step?: LogitsProcessorStep): void {
    if (step?.hiddenState === undefined) {
      throw new InvalidArgumentError({ argument: 'hiddenState', message: 'KnnLogitsProcessor needs the hidden state of the step (use it through generateTokens / generate)' });
    }
    const mixed = this.probabilities(logits, step.hiddenState);
    for (let index = 0; index < logits.length; index++) logits[index] = Math.log(mixed[index] as number);
  }
}
