import { availableParallelism } from 'node:os';
import { InvalidArgumentError, throwIfAborted, type ProgressReporter } from '@codestack/core';
import type { EvalTask } from './eval-task.js';
import { extractCode } from '../generate-code/extract-code.js';
import { passAtK } from './pass-at-k.js';
import { runInSandbox, type SandboxStatus } from '../validation/sandbox/sandbox.js';
import { transpileTypeScript } from '../validation/transpile.js';

/** Produces one completion of a task's prompt (the model's answer text). */
export type TaskCompleter = (task: EvalTask, context: { sampleIndex: number; signal: AbortSignal | undefined }) => Promise<string>;

/** Options of {@link evaluatePassAtK}. */
export interface EvaluatePassAtKOptions {
  /** The tasks to run. */
  tasks: readonly EvalTask[];
  /** Score the datasets' canonical solutions instead of model samples (checks the harness itself). */
  canonical?: boolean;
  /** Produces completions; required unless `canonical`. */
  complete?: TaskCompleter;
  /** Samples per task (`n`). Default 1; `canonical` always uses 1. */
  samples?: number;
  /** The k values to report. Default `[1]`; values above `samples` are left out. */
  k?: readonly number[];
  /** The directory whose `node_modules` the tests may require (e.g. `lodash`). */
  projectDirectory?: string;
  /** Wall-time limit per run in milliseconds. Default 10000. */
  timeoutMilliseconds?: number;
  /** Memory limit per run in MiB. Default 512. */
  memoryLimitMegabytes?: number;
  /** Runs at once. Default: the number of CPUs. */
  concurrency?: number;
  /** Receives one update per finished task. */
  progress?: ProgressReporter;
  /** Cancels the evaluation. */
  signal?: AbortSignal;
}

/** One sample's outcome. */
export interface SampleOutcome {
  /** The sandbox status; `skipped` when the task has no canonical solution. */
  status: SandboxStatus | 'skipped';
  /** The last lines of stderr when it did not pass. */
  errorExcerpt?: string;
  /** Wall time of the sandboxed run. */
  durationMilliseconds: number;
}

/** One task's outcome over all its samples. */
export interface TaskOutcome {
  /** The task id. */
  taskId: string;
  /** Samples run (0 when skipped). */
  samples: number;
  /** Samples that passed. */
  passed: number;
  /** Each sample's outcome. */
  outcomes: SampleOutcome[];
}

/** What {@link evaluatePassAtK} measured. */
export interface PassAtKReport {
  /** pass@k averaged over the scored tasks, keyed `pass@1`, `pass@10`… */
  passAtK: Record<string, number>;
  /** Tasks scored (skipped tasks excluded). */
  scoredTasks: number;
  /** Tasks skipped for lack of a canonical solution. */
  skippedTasks: number;
  /** Per-task outcomes in input order. */
  tasks: TaskOutcome[];
}

/**
 * Builds the program that tests a completion: the prompt followed by the completion, or, when
 * the completion already declares the entry point (a chat answer with the whole function), the
 * completion alone; then the task's tests. TypeScript is type-stripped with the compiler API.
 */
export function buildTaskProgram(task: EvalTask, completion: string): string {
  const declaresEntryPoint = new RegExp(`(function\\s+${escapeRegExp(task.entryPoint)}\\b|(const|let|var)\\s+${escapeRegExp(task.entryPoint)}\\s*=)`).test(completion);
  const source = `${declaresEntryPoint ? completion : task.prompt + completion}\n${task.test}`;
  return task.language === 'typescript' ? transpileTypeScript(source).code : source;
}

/**
 * Runs the pass@k evaluation: every sample of every task runs its tests in the sandbox, and
 * pass@k is the mean of the unbiased estimator over tasks.
 */
export async function evaluatePassAtK(options: EvaluatePassAtKOptions): Promise<PassAtKReport> {
  const samples = options.canonical ? 1 : (options.samples ?? 1);
  if (!Number.isInteger(samples) || samples < 1) {
    throw new InvalidArgumentError({ argument: 'samples', message: 'must be a positive integer' });
  }
  if (!options.canonical && !options.complete) {
    throw new InvalidArgumentError({ argument: 'complete', message: 'a completer (model) is needed unless canonical is set' });
  }
  const kValues = (options.k ?? [1]).filter((k) => k <= samples);
  for (const k of options.k ?? []) {
    if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError({ argument: 'k', message: 'every k must be a positive integer' });
  }
  const concurrency = options.concurrency ?? availableParallelism();
  const results: TaskOutcome[] = new Array(options.tasks.length);
  let finished = 0;
  let next = 0;

  const runTask = async (task: EvalTask): Promise<TaskOutcome> => {
    if (options.canonical && task.canonicalSolution === undefined) {
      return { taskId: task.taskId, samples: 0, passed: 0, outcomes: [{ status: 'skipped', durationMilliseconds: 0 }] };
    }
    const outcomes: SampleOutcome[] = [];
    for (let sampleIndex = 0; sampleIndex < samples; sampleIndex += 1) {
      throwIfAborted(options.signal, 'pass@k evaluation');
      const completion = options.canonical
        ? (task.canonicalSolution ?? '')
        : extractCompletion(await options.complete!(task, { sampleIndex, signal: options.signal }), task);
      const result = await runInSandbox({
        code: buildTaskProgram(task, completion),
        projectDirectory: options.projectDirectory,
        timeoutMilliseconds: options.timeoutMilliseconds ?? 10000,
        memoryLimitMegabytes: options.memoryLimitMegabytes ?? 512,
        signal: options.signal,
      });
      const outcome: SampleOutcome = { status: result.status, durationMilliseconds: result.durationMilliseconds };
      if (result.status !== 'passed') outcome.errorExcerpt = excerpt(result.stderr);
      outcomes.push(outcome);
    }
    const passed = outcomes.filter((outcome) => outcome.status === 'passed').length;
    return { taskId: task.taskId, samples, passed, outcomes };
  };

  const worker = async (): Promise<void> => {
    while (next < options.tasks.length) {
      const index = next;
      next += 1;
      const task = options.tasks[index]!;
      results[index] = await runTask(task);
      finished += 1;
      const scored = results.filter((result) => result !== undefined && result.samples > 0);
      options.progress?.update({
        completed: finished,
        fields: { passed: scored.filter((result) => result.passed > 0).length },
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, options.tasks.length)) }, worker));

  const scored = results.filter((result) => result.samples > 0);
  const passAtKValues: Record<string, number> = {};
  for (const k of kValues) {
    const total = scored.reduce((sum, result) => sum + passAtK(result.samples, result.passed, k), 0);
    passAtKValues[`pass@${k}`] = scored.length === 0 ? 0 : total / scored.length;
  }
  options.progress?.finish(Object.fromEntries(Object.entries(passAtKValues).map(([key, value]) => [key, Number(value.toFixed(4))])));
  return { passAtK: passAtKValues, scoredTasks: scored.length, skippedTasks: results.length - scored.length, tasks: results };
}

function extractCompletion(answer: string, task: EvalTask): string {
  const extracted = extractCode(answer, {
    preferredLanguages: task.language === 'typescript' ? ['typescript', 'ts'] : ['javascript', 'js'],
  });
  // A bare continuation is used verbatim: its leading indentation belongs to the function body.
  return extracted.source === 'bare' ? answer : extracted.code;
}

function excerpt(text: string): string {
  const lines = text.trim().split('\n');
  const interesting = lines.findIndex((line) => /Error|throw|denied|assert/i.test(line));
  return lines.slice(Math.max(0, interesting), Math.max(0, interesting) + 4).join('\n').slice(0, 500);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
