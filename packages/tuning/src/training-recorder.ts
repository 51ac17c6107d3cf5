import { createProgressReporter, type ProgressReporter } from '@codestack/core';
import type { TrainingOptions, TrainingResult } from './training-loop.js';

/**
 * Records a training run for both training paths (in-memory windows and token shards): progress
 * lines through core's progress reporter, losses, throughput and peak memory, and the final
 * {@link TrainingResult}.
 */
export class TrainingRecorder {
  private readonly reporter: ProgressReporter;
  private readonly started = performance.now();
  private readonly losses: number[] = [];
  private tokens = 0;
  private peakTensorBytes = 0;
  private peakResidentBytes = 0;

  /** Starts the progress report; logs a `resume` event when `startStep` is not 0. */
  constructor(
    options: Pick<TrainingOptions, 'json' | 'silent' | 'stream'>,
    label: string,
    totalSteps: number,
    readonly startStep: number,
    private readonly trainableParameters: number,
  ) {
    this.reporter = createProgressReporter({
      label,
      total: totalSteps,
      ...(options.json === undefined ? {} : { json: options.json }),
      ...(options.silent === undefined ? {} : { silent: options.silent }),
      ...(options.stream === undefined ? {} : { stream: options.stream }),
    });
    if (startStep > 0) this.reporter.event('resume', { step: startStep });
  }

  /** Raises the recorded peak of tensor memory. */
  notePeakTensorBytes(bytes: number): void {
    this.peakTensorBytes = Math.max(this.peakTensorBytes, bytes);
  }

  /** Records a finished optimizer step (1-based `step`) and reports progress. */
  step(step: number, loss: number, learningRate: number, tokens: number): void {
    this.peakResidentBytes = Math.max(this.peakResidentBytes, process.memoryUsage().rss);
    this.losses.push(loss);
    this.tokens += tokens;
    this.reporter.update({
      completed: step,
      fields: { loss: Number(loss.toFixed(4)), learningRate: Number(learningRate.toPrecision(4)), tokensPerSecond: Math.round(this.tokens / this.seconds()) },
    });
  }

  /** Logs a checkpoint event. */
  checkpoint(step: number, directory: string): void {
    this.reporter.event('checkpoint', { step, directory });
  }

  /** Ends the progress report and returns the run's figures. */
  finish(steps: number): TrainingResult {
    const seconds = this.seconds();
    const finalLoss = this.losses[this.losses.length - 1] ?? Number.NaN;
    const tokensPerSecond = this.tokens / seconds;
    this.reporter.finish({ loss: Number(finalLoss.toFixed(4)), tokensPerSecond: Math.round(tokensPerSecond) });
    return {
      steps,
      startStep: this.startStep,
      losses: [...this.losses],
      finalLoss,
      tokens: this.tokens,
      seconds,
      tokensPerSecond,
      peakTensorBytes: this.peakTensorBytes,
      peakResidentBytes: this.peakResidentBytes,
      trainableParameters: this.trainableParameters,
    };
  }

  private seconds(): number {
    return Math.max((performance.now() - this.started) / 1000, 1e-9);
  }
}
