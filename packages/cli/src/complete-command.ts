import type { CliContext } from './cli-context.js';
import { parse, positiveInteger, readInput } from './arguments.js';
import { modelOptions, outputTokens, resolveModel, resolveRetriever } from './resolve-model.js';
import { applyKnnOptions, checkKnnArguments, cacheEnabled, cacheOptions } from './knn-options.js';

/** `codestack complete`. */
export async function completeCommand(args: readonly string[], context: CliContext): Promise<number> {
  const { values } = parse(args, { ...modelOptions, ...cacheOptions, file: { type: 'string' }, line: { type: 'string' }, docs: { type: 'string' } });
  let prefix: string;
  if (values.file !== undefined) {
    const text = await readInput(values.file, context);
    const line = positiveInteger(values.line, '--line', text.split('\n').length);
    // The lines up to N, each with its newline: the model writes line N + 1.
    prefix = text
      .split('\n')
      .slice(0, line)
      .map((entry) => `${entry}\n`)
      .join('');
  } else prefix = await readInput(undefined, context);
  checkKnnArguments(values);
  const resolved = await resolveModel(values, context);
  const { tokenizer, contextTokens } = resolved;
  // On by default for a local model: on the validation API-member set it took exact answers from 0 to 33 of 143 (eval completion --cases validation.jsonl --cache, at defaultCacheSettings).
  const cache = cacheEnabled(values, resolved.local !== undefined);
  const model = await applyKnnOptions(values, resolved, context, cache);
  const maxOutputTokens = outputTokens(values['maximum-tokens'], contextTokens, 64);
  const retriever = await resolveRetriever(values.docs, context);
  // The prompt is fitted whether or not docs are retrieved: the model refuses a prompt too long for its window.
  const { buildCodeCompletionPrompt } = await import('@codestack/orchestrator');
  const { prompt, documents, documentTokens } = await buildCodeCompletionPrompt({
    prefix,
    tokenizer,
    ...(retriever ? { retriever } : {}),
    maximumPromptTokens: Math.max(8, (contextTokens ?? 8192) - maxOutputTokens),
    ...(context.signal ? { signal: context.signal } : {}),
  });
  // The docs the model sees go to stderr, so stdout stays the completion alone.
  if (!values.json && documents) context.stderr.write(`retrieved docs:\n${documents}`);
  const { streamText } = await import('@codestack/orchestrator');
  // The whole prefix is the text before the cursor: the continuous cache reads it, beyond the prompt's window.
  const streamed = await streamText({
    model,
    prompt,
    maxOutputTokens,
    temperature: 0,
    abortSignal: context.signal,
    ...(cache ? { providerOptions: { codestack: { textBeforeCursor: prefix } } } : {}),
  });
  let text = '';
  for await (const delta of streamed.textStream) {
    text += delta;
    if (!values.json) context.stdout.write(delta);
  }
  if (values.json) context.stdout.write(`${JSON.stringify({ completion: text, finishReason: await streamed.finishReason, usage: await streamed.usage, model: model.modelId, documentTokens, cache })}\n`);
  else context.stdout.write('\n');
  return 0;
}
