import { InvalidArgumentError, numberArgument } from '@codestack/core';
import type { CliContext } from './cli-context.js';
import { parse, positiveInteger, projectRelativePath, readInput } from './arguments.js';
import { modelOptions, outputTokens, resolveModel, resolveRetriever } from './resolve-model.js';
import { applyKnnOptions, checkKnnArguments, datastoreOptions } from './knn-options.js';

/** `codestack generate "<task>"`. */
export async function generateCommand(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parse(args, {
    ...modelOptions,
    ...datastoreOptions,
    docs: { type: 'string' },
    tests: { type: 'string' },
    language: { type: 'string' },
    'repair-rounds': { type: 'string' },
    'minimum-relevance': { type: 'string' },
  });
  const task = positionals.join(' ');
  if (!task.trim()) throw new InvalidArgumentError({ argument: 'task', message: 'generate needs a task, such as codestack generate "write clamp"' });
  const language = values.language ?? 'typescript';
  if (language !== 'typescript' && language !== 'javascript') throw new InvalidArgumentError({ argument: '--language', message: 'must be typescript or javascript' });
  checkKnnArguments(values);
  const resolved = await resolveModel(values, context);
  const { tokenizer, contextTokens } = resolved;
  const model = await applyKnnOptions(values, resolved, context, false);
  const retriever = await resolveRetriever(values.docs, context);
  const tests = values.tests === undefined ? undefined : await readInput(values.tests, context);
  const minimumRelevance = numberArgument(values['minimum-relevance'], '--minimum-relevance', { minimum: 0 });
  const projectDirectory = context.cwd ?? process.cwd();
  const testsFile = projectRelativePath(values.tests, projectDirectory);
  const { generateCode } = await import('@codestack/orchestrator');
  const run = generateCode({
    task,
    model,
    tokenizer,
    ...(retriever ? { retriever } : {}),
    ...(minimumRelevance === undefined ? {} : { minimumRelevance }),
    // A tests file inside the project keeps its name, so a failing assertion is reported at its line there.
    validation: { language, projectDirectory, ...(tests === undefined ? {} : { tests }), ...(testsFile === undefined ? {} : { testsFile }) },
    maximumRepairRounds: positiveInteger(values['repair-rounds'], '--repair-rounds', 2),
    maxOutputTokens: outputTokens(values['maximum-tokens'], contextTokens, 512),
    ...(contextTokens === undefined ? {} : { contextTokens }),
    abortSignal: context.signal,
  });
  for await (const event of run.events) {
    if (values.json) context.stdout.write(`${JSON.stringify(event)}\n`);
    else if (event.type === 'text-delta') context.stderr.write(event.delta);
    else if (event.type === 'validation') context.stderr.write(`\n[validation ${event.attempt}: ${event.report.ok ? 'ok' : 'failed'}]\n`);
  }
  const result = await run.result;
  if (values.json) context.stdout.write(`${JSON.stringify({ event: 'result', ok: result.ok, code: result.code, attempts: result.attempts.length, usage: result.usage })}\n`);
  else context.stdout.write(result.code);
  return result.ok ? 0 : 1;
}
