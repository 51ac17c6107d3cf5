import { InvalidArgumentError } from '@codestack/core';

/**
 * Rewrites one sequence's next-token logits in place, e.g. to penalise repeats or cut the tail.
 * `previousIds` holds the prompt and every token generated so far.
 */
export interface LogitsProcessor {
  /** Modifies `logits` (length = vocabulary size) in place. */
  process(logits: Float32Array, previousIds: readonly number[], step?: LogitsProcessorStep): void;
  /**
   * When true, the decoding loop also reads the final hidden state of the position being
   * predicted (from the same forward pass) and passes it in `step.hiddenState`.
   */
  readonly needsHiddenState?: boolean;
}

/** What the decoding loop knows of the current step beyond the logits. */
export interface LogitsProcessorStep {
  /** The final hidden state (after the final norm, the input of the output head), when a processor asked for it. */
  hiddenState?: Float32Array;
}

/**
 * Divides the logit of every token already seen by `penalty` when positive and multiplies it when
 * negative (the CTRL / Hugging Face rule). `penalty` > 1 discourages repeats.
 */
export class RepetitionPenaltyProcessor implements LogitsProcessor {
  /** Creates the processor; `penalty` must be positive. */
  constructor(readonly penalty: number) {
    if (!(penalty > 0) || !Number.isFinite(penalty)) throw new InvalidArgumentError({ argument: 'repetitionPenalty', message: `expected a positive number, got ${penalty}` });
  }

  /** Rewrites `logits` in place (see the class description). */
  process(logits: Float32Array, previousIds: readonly number[]): void {
    for (const id of new Set(previousIds)) {
      const value = logits[id];
      if (value === undefined) continue;
      logits[id] = value > 0 ? value / this.penalty : value * this.penalty;
    }
  }
}

/** Divides every logit by `temperature` (> 0): below 1 sharpens, above 1 flattens. */
export class TemperatureProcessor implements LogitsProcessor {
  /** Creates the processor; `temperature` must be positive. */
  constructor(readonly temperature: number) {
    if (!(temperature > 0) || !Number.isFinite(temperature)) throw new InvalidArgumentError({ argument: 'temperature', message: `expected a positive number, got ${temperature}` });
  }

  /** Rewrites `logits` in place (see the class description). */
  process(logits: Float32Array): void {
    for (let index = 0; index < logits.length; index++) logits[index] = (logits[index] as number) / this.temperature;
  }
}

/** Keeps the `topK` largest logits (ties at the boundary kept) and sets the rest to -Infinity. */
export class TopKProcessor implements LogitsProcessor {
  /** Creates the processor; `topK` must be a positive integer. */
  constructor(readonly topK: number) {
    if (!Number.isInteger(topK) || topK < 1) throw new InvalidArgumentError({ argument: 'topK', message: `expected a positive integer, got ${topK}` });
  }

  /** Rewrites `logits` in place (see the class description). */
  process(logits: Float32Array): void {
    if (this.topK >= logits.length) return;
    const threshold = Float32Array.from(logits).sort().reverse()[this.topK - 1] as number;
    for (let index = 0; index < logits.length; index++) if ((logits[index] as number) < threshold) logits[index] = -Infinity;
  }
}

/**
 * Nucleus filtering: keeps the smallest set of most likely tokens whose probabilities sum to at
 * least `topP` (0 < topP <= 1) and sets the rest to -Infinity.
 */
export class TopPProcessor implements LogitsProcessor {
  /** Creates the processor; `topP` must be in (0, 1]. */
  constructor(readonly topP: number) {
    if (!(topP > 0 && topP <= 1)) throw new InvalidArgumentError({ argument: 'topP', message: `expected a number in (0, 1], got ${topP}` });
  }

  /** Rewrites `logits` in place (see the class description). */
  process(logits: Float32Array): void {
    if (this.topP >= 1) return;
    const probabilities = softmax(logits);
    const order = Array.from(probabilities.keys()).sort((left, right) => (probabilities[right] as number) - (probabilities[left] as number));
    let cumulative = 0;
    let kept = 0;
    for (const index of order) {
      cumulative += probabilities[index] as number;
      kept++;
      if (cumulative >= this.topP) break;
    }
    for (const index of order.slice(kept)) logits[index] = -Infinity;
  }
}

/** A numerically stable softmax of `logits` into a new array. */
export function softmax(logits: Float32Array): Float64Array {
  let maximum = -Infinity;
  for (const value of logits) if (value > maximum) maximum = value;
  const result = new Float64Array(logits.length);
  let total = 0;
  for (let index = 0; index < logits.length; index++) {
    const value = Math.exp((logits[index] as number) - maximum);
    result[index] = value;
    total += value;
  }
  for (let index = 0; index < result.length; index++) result[index] = (result[index] as number) / total;
  return result;
}
