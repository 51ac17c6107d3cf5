import { InvalidArgumentError, createProgressReporter } from '@codestack/core';
import { resolve } from 'node:path';
import type { CliContext } from './cli-context.js';
import { parse, positiveInteger, write } from './arguments.js';
import { modelOptions, resolveModel, resolveRetriever } from './resolve-model.js';
import { applyKnnOptions, checkKnnArguments, cacheEnabled, cacheOptions } from './knn-options.js';

/** `codestack eval completion`. */
export async function completionEvalCommand(args: readonly string[], context: CliContext): Promise<number> {
  const { values } = parse(args, {
    ...modelOptions,
    ...cacheOptions,
    data: { type: 'string' },
    cases: { type: 'string' },
    docs: { type: 'string' },
    limit: { type: 'string' },
    'cases-per-file': { type: 'string' },
    'prompt-tokens': { type: 'string' },
    'document-tokens': { type: 'string' },
    details: { type: 'boolean' },
  });
  if (values.data && values.cases) throw new InvalidArgumentError({ argument: '--cases', message: 'give either --data (held-out code) or --cases (a benchmark), not both' });
  if (!values.data && !values.cases) {
    throw new InvalidArgumentError({ argument: '--data', message: 'give held-out code: --data DIR or --data FILE.jsonl, or your own cases: --cases FILE.jsonl' });
  }
  const { readCompletionSources, readCompletionCases, buildCompletionCases } = await import('@codestack/orchestrator/evaluation');
  const cwd = context.cwd ?? process.cwd();
  let sources: Awaited<ReturnType<typeof readCompletionSources>> = [];
  let givenCases: Awaited<ReturnType<typeof readCompletionCases>> | undefined;
  if (values.cases) {
    givenCases = await readCompletionCases(resolve(cwd, values.cases));
    if (values.limit !== undefined) givenCases = givenCases.slice(0, positiveInteger(values.limit, '--limit', givenCases.length));
    if (givenCases.length === 0) throw new InvalidArgumentError({ argument: '--cases', message: `no cases in ${values.cases}` });
  } else {
    sources = await readCompletionSources(resolve(cwd, values.data!));
    if (values.limit !== undefined) sources = sources.slice(0, positiveInteger(values.limit, '--limit', sources.length));
    if (sources.length === 0) throw new InvalidArgumentError({ argument: '--data', message: `no JavaScript or TypeScript sources in ${values.data}` });
  }
  const casesPerFile = positiveInteger(values['cases-per-file'], '--cases-per-file', 4);
  checkKnnArguments(values);
  const resolved = await resolveModel(values, context);
  const { tokenizer, contextTokens } = resolved;
  const cache = cacheEnabled(values);
  // Each case's own prefix is its text before the cursor (evaluateCompletion passes it): nothing else enters the cache.
  const model = await applyKnnOptions(values, resolved, context, cache);
  const retriever = await resolveRetriever(values.docs, context);
  const maxOutputTokens = Math.min(32, Math.floor((contextTokens ?? 4096) / 8));
  const maximumPromptTokens = positiveInteger(values['prompt-tokens'], '--prompt-tokens', Math.min(1024, (contextTokens ?? 4096) - maxOutputTokens));
  const { evaluateCompletion } = await import('@codestack/orchestrator/evaluation');
  const cases = givenCases ?? buildCompletionCases(sources, { casesPerFile });
  const progress = createProgressReporter({ label: 'completion', total: cases.length, json: values.json === true, stream: context.stderr });
  const report = await evaluateCompletion({
    model,
    tokenizer,
    sources,
    cases,
    maximumPromptTokens,
    maxOutputTokens,
    ...(retriever ? { retriever } : {}),
    ...(values['document-tokens'] === undefined ? {} : { maximumDocumentTokens: positiveInteger(values['document-tokens'], '--document-tokens', 0) }),
    progress,
    ...(context.signal ? { signal: context.signal } : {}),
  });
  const summary = {
    model: model.modelId,
    adapter: values.adapter ?? null,
    docs: values.docs ?? null,
    datastore: values.datastore ?? null,
    cache,
    ...(values.cases ? { cases: values.cases } : {}),
    files: report.files,
    nextLine: report.nextLine,
    nextIdentifier: report.nextIdentifier,
    meanDocumentTokens: report.meanDocumentTokens,
    ...(values.details ? { results: report.results } : {}),
  };
  const percent = (value: number): string => `${(value * 100).toFixed(1)}%`;
  write(
    context,
    values.json,
    summary,
    `next line ${percent(report.nextLine.exactMatch)} (${report.nextLine.exact}/${report.nextLine.cases}, edit similarity ${report.nextLine.editSimilarity.toFixed(3)})  next identifier ${percent(report.nextIdentifier.exactMatch)} (${report.nextIdentifier.exact}/${report.nextIdentifier.cases}, edit similarity ${report.nextIdentifier.editSimilarity.toFixed(3)})  ${values.cases ? `from ${values.cases}` : `over ${report.files} files`}${retriever ? ', with docs' : ''}${values.datastore ? ', with the datastore' : ''}${cache ? ', with the cache' : ''}`,
  );
  return 0;
}
