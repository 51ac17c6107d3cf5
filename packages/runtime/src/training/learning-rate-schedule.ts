import { InvalidArgumentError } from '@codestack/core';

/** A learning rate as a function of the (0-based) optimizer step. */
export type LearningRateSchedule = (step: number) => number;

/** Options of {@link warmupCosineSchedule}. */
export interface WarmupCosineOptions {
  /** The rate reached at the end of warmup. */
  peakLearningRate: number;
  /** Steps of linear warmup from `peakLearningRate / warmupSteps`. */
  warmupSteps: number;
  /** Step at which the cosine reaches `minimumLearningRate` (and stays). */
  totalSteps: number;
  /** The floor of the cosine decay. Default `peakLearningRate / 10`. */
  minimumLearningRate?: number;
}

/** Linear warmup to the peak, then cosine decay to the minimum at `totalSteps`. */
export function warmupCosineSchedule(options: WarmupCosineOptions): LearningRateSchedule {
  const { peakLearningRate, warmupSteps, totalSteps } = options;
  const minimum = options.minimumLearningRate ?? peakLearningRate / 10;
  if (!(peakLearningRate > 0)) throw new InvalidArgumentError({ argument: 'peakLearningRate', message: `expected a positive number, got ${peakLearningRate}` });
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) throw new InvalidArgumentError({ argument: 'warmupSteps', message: `expected a non-negative integer, got ${warmupSteps}` });
  if (!Number.isInteger(totalSteps) || totalSteps < warmupSteps) throw new InvalidArgumentError({ argument: 'totalSteps', message: `expected an integer of at least warmupSteps, got ${totalSteps}` });
  if (!(minimum >= 0 && minimum <= peakLearningRate)) throw new InvalidArgumentError({ argument: 'minimumLearningRate', message: `expected a number in [0, peak], got ${minimum}` });
  return (step) => {
    if (step < warmupSteps) return (peakLearningRate * (step + 1)) / warmupSteps;
    if (step >= totalSteps) return minimum;
    const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
    return minimum + 0.5 * (peakLearningRate - minimum) * (1 + Math.cos(Math.PI * progress));
  };
}
