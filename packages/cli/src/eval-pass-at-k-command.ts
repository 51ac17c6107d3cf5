import { InvalidArgumentError, createProgressReporter, numberArgument } from '@codestack/core';
import { resolve } from 'node:path';
import type { CliContext } from './cli-context.js';
import { parse, positiveInteger, write } from './arguments.js';
import { modelOptions, outputTokens, resolveModel } from './resolve-model.js';
import { completionEvalCommand } from './eval-completion-command.js';

/** `codestack eval pass-at-k` (and the dispatch to `eval completion`). */
export async function evalCommand(args: readonly string[], context: CliContext): Promise<number> {
  if (args[0] === 'completion') return completionEvalCommand(args.slice(1), context);
  const { values, positionals } = parse(args, {
    ...modelOptions,
    data: { type: 'string' },
    samples: { type: 'string' },
    k: { type: 'string' },
    canonical: { type: 'boolean' },
    concurrency: { type: 'string' },
    limit: { type: 'string' },
    temperature: { type: 'string' },
  });
  if (positionals[0] !== 'pass-at-k') throw new InvalidArgumentError({ argument: 'subcommand', message: "eval supports 'pass-at-k' and 'completion'" });
  if (!values.data) throw new InvalidArgumentError({ argument: '--data', message: 'give the task file: --data FILE.jsonl' });
  const { readEvalTasks } = await import('@codestack/orchestrator/evaluation');
  const { evaluatePassAtK } = await import('@codestack/orchestrator/evaluation');
  let tasks = await readEvalTasks(resolve(context.cwd ?? process.cwd(), values.data));
  if (values.limit !== undefined) tasks = tasks.slice(0, positiveInteger(values.limit, '--limit', tasks.length));
  const samples = positiveInteger(values.samples, '--samples', 1);
  const k = (values.k ?? '1').split(',').map((item) => positiveInteger(item.trim(), '--k', 1));
  // Checked before any model loads: a typo fails at once instead of sampling at NaN.
  const temperature = numberArgument(values.temperature, '--temperature', { minimum: 0 }) ?? (samples > 1 ? 0.8 : 0);
  let complete: import('@codestack/orchestrator/evaluation').TaskCompleter | undefined;
  if (!values.canonical) {
    const { model, contextTokens } = await resolveModel(values, context);
    const { generateText } = await import('@codestack/orchestrator');
    const maxOutputTokens = outputTokens(values['maximum-tokens'], contextTokens, 384);
    complete = async (task, { sampleIndex, signal }) =>
      (await generateText({ model, prompt: task.prompt, maxOutputTokens, temperature, seed: sampleIndex, ...(signal ? { signal } : {}) })).text;
  }
  const progress = createProgressReporter({ label: 'pass@k', total: tasks.length, json: values.json === true, stream: context.stderr });
  const report = await evaluatePassAtK({
    tasks,
    samples,
    k,
    canonical: values.canonical === true,
    ...(complete ? { complete } : {}),
    projectDirectory: context.cwd ?? process.cwd(),
    progress,
    ...(values.concurrency === undefined ? {} : { concurrency: positiveInteger(values.concurrency, '--concurrency', 1) }),
    ...(context.signal ? { signal: context.signal } : {}),
  });
  const failures = report.tasks.filter((task) => task.samples > 0 && task.passed < task.samples).map((task) => task.taskId);
  write(
    context,
    values.json,
    { ...report.passAtK, scoredTasks: report.scoredTasks, skippedTasks: report.skippedTasks, failedTaskIds: failures },
    `${Object.entries(report.passAtK)
      .map(([key, value]) => `${key} = ${value.toFixed(4)}`)
      .join('  ')}  (${report.scoredTasks} tasks scored, ${report.skippedTasks} skipped)`,
  );
  return 0;
}
