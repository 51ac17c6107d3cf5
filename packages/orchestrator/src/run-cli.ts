import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  CodestackError,
  FileFormatError,
  InvalidArgumentError,
  createProgressReporter,
  type LanguageModel,
  type Retriever,
  type Tokenizer,
} from '@codestack/core';

/** Streams and signal of {@link runCli}. */
export interface CliContext {
  /** Results. */
  stdout: NodeJS.WritableStream;
  /** Progress and errors. */
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Input for `complete` and `tokens count` without a file. */
  stdin?: NodeJS.ReadableStream;
  /** Cancels the command (the bin wires SIGINT and SIGTERM to it). */
  signal?: AbortSignal;
  /** The directory relative paths and dependencies resolve from. Default `process.cwd()`. */
  cwd?: string;
  /** Environment variables (`OPENAI_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_MODEL`). Default `process.env`. */
  environment?: Readonly<Record<string, string | undefined>>;
}

/** The usage text of the `codestack` command. */
export const cliUsage = `Usage: codestack <command> [options]   (every command takes --json)

  generate "<task>" [--docs DIR] [--tests FILE] [--language typescript|javascript] [--repair-rounds N] [model options]
  complete [--file F --line N] [--docs DIR] [model options]   prefix from stdin, or the file up to line N
  check FILE [--tests FILE]                           type-check, then run; exit 0 only when both pass
  tokens count [FILE] [--encoding E]                  count tokens of FILE or stdin
  docs index|search ...                               the retrieval docs command
  eval pass-at-k --data FILE.jsonl [--samples N] [--k 1,10] [--canonical] [model options]
  eval completion --data DIR|FILE.jsonl [--docs DIR] [--limit FILES] [--cases-per-file N] [--details] [model options]
                                                      exact match of the next line and next identifier
  serve --port N [--host H] [--server-api-key K] [model options]

Model options: --model DIR [--encoding E] [--adapter DIR|NAME] (a local checkpoint), or
  --base-url URL --model-name M [--api-key K] (an OpenAI-compatible endpoint). Without either,
  OPENAI_BASE_URL (with OPENAI_API_KEY and OPENAI_MODEL, default gpt-4o-mini) selects a remote
  model, and otherwise the bundled base model of @codestack/model-base runs locally.
`;

const modelOptions = {
  model: { type: 'string' },
  encoding: { type: 'string' },
  'base-url': { type: 'string' },
  'model-name': { type: 'string' },
  'api-key': { type: 'string' },
  adapter: { type: 'string' },
  json: { type: 'boolean' },
  'maximum-tokens': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

/**
 * Runs the `codestack` command line and returns its exit code: 0 success, 1 failure (including a
 * failed check), 2 usage error. Errors are printed (as `{"error":{code,message}}` with `--json`),
 * never thrown.
 */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const [command, ...rest] = argv;
  const json = rest.includes('--json');
  try {
    switch (command) {
      case 'check':
        return await checkCommand(rest, context);
      case 'tokens':
        return await tokensCommand(rest, context);
      case 'docs':
        return await docsCommand(rest, context);
      case 'eval':
        return await evalCommand(rest, context);
      case 'generate':
        return await generateCommand(rest, context);
      case 'complete':
        return await completeCommand(rest, context);
      case 'serve':
        return await serveCommand(rest, context);
      case undefined:
      case '--help':
      case 'help':
        context.stdout.write(cliUsage);
        return 0;
      default:
        throw new InvalidArgumentError({ argument: 'command', message: `unknown command '${command}'\n${cliUsage}` });
    }
  } catch (error) {
    const known = CodestackError.isInstance(error);
    const code = known ? error.code : 'UNEXPECTED';
    const message = error instanceof Error ? error.message : String(error);
    context.stderr.write(json ? `${JSON.stringify({ error: { code, message } })}\n` : `codestack: ${message}\n`);
    return code === 'INVALID_ARGUMENT' ? 2 : 1;
  }
}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new InvalidArgumentError({ argument: 'arguments', message: error instanceof Error ? error.message : String(error), cause: error });
  }
}

function write(context: CliContext, json: boolean | undefined, value: unknown, text: string): void {
  context.stdout.write(json ? `${JSON.stringify(value)}\n` : text.endsWith('\n') ? text : `${text}\n`);
}

async function readInput(path: string | undefined, context: CliContext): Promise<string> {
  if (path !== undefined) {
    try {
      return await readFile(resolve(context.cwd ?? process.cwd(), path), 'utf8');
    } catch (error) {
      throw new FileFormatError({ path, reason: 'missing', message: 'cannot read the file', cause: error });
    }
  }
  if (!context.stdin) throw new InvalidArgumentError({ argument: 'stdin', message: 'no input: give a file or pipe text in' });
  const chunks: Buffer[] = [];
  for await (const chunk of context.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function positiveInteger(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new InvalidArgumentError({ argument: name, message: `must be a whole number, got '${value}'` });
  return number;
}

async function checkCommand(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parse(args, { tests: { type: 'string' }, json: { type: 'boolean' }, timeout: { type: 'string' } });
  const [file] = positionals;
  if (!file) throw new InvalidArgumentError({ argument: 'FILE', message: 'check needs a file' });
  const { validateCode } = await import('./validate-code.js');
  const code = await readInput(file, context);
  const tests = values.tests === undefined ? undefined : await readInput(values.tests, context);
  const language = /\.(c|m)?jsx?$/.test(file) ? 'javascript' : 'typescript';
  const report = await validateCode({
    code,
    tests,
    language,
    run: true,
    projectDirectory: context.cwd ?? process.cwd(),
    timeoutMilliseconds: positiveInteger(values.timeout, 'timeout', 10000),
    signal: context.signal,
  });
  const { formatDiagnostics } = await import('./type-check.js');
  const lines = [formatDiagnostics(report.diagnostics), report.run ? `run: ${report.run.status} (${report.run.durationMilliseconds.toFixed(0)} ms)` : 'run: skipped (type errors)'];
  if (report.run && report.run.status !== 'passed') lines.push(report.run.stderr.trim());
  write(context, values.json, { ok: report.ok, language, diagnostics: report.diagnostics, run: report.run ?? null }, lines.filter(Boolean).join('\n'));
  return report.ok ? 0 : 1;
}

async function tokensCommand(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parse(args, { encoding: { type: 'string' }, json: { type: 'boolean' } });
  const [subcommand, file] = positionals;
  if (subcommand !== 'count') throw new InvalidArgumentError({ argument: 'subcommand', message: "tokens supports 'count'" });
  const { getTokenizer } = await import('@codestack/tokenizer');
  const tokenizer = getTokenizer(values.encoding ?? 'cl100k_base');
  const text = await readInput(file, context);
  const tokens = tokenizer.countTokens(text);
  write(context, values.json, { tokens, characters: text.length, encoding: tokenizer.encodingName }, String(tokens));
  return 0;
}

async function docsCommand(args: readonly string[], context: CliContext): Promise<number> {
  const { runDocsCommand } = await import('@codestack/retrieval');
  return runDocsCommand(args, { stdout: context.stdout, stderr: context.stderr, signal: context.signal, cwd: context.cwd });
}

interface ModelValues {
  model?: string;
  encoding?: string;
  'base-url'?: string;
  'model-name'?: string;
  'api-key'?: string;
  adapter?: string;
}

/**
 * Builds the model the model options name, in this order: `--base-url` (an OpenAI-compatible
 * endpoint), `--model DIR` (a local checkpoint), the `OPENAI_BASE_URL` environment variable (with
 * `OPENAI_API_KEY` and `OPENAI_MODEL`), and otherwise the bundled base model of
 * `@codestack/model-base` on the local runtime.
 */
async function resolveModel(values: ModelValues, context: CliContext): Promise<{ model: LanguageModel; tokenizer: Tokenizer; contextTokens?: number }> {
  const environment = context.environment ?? process.env;
  if (values['base-url'] === undefined && values.model === undefined && environment.OPENAI_BASE_URL) {
    values = { ...values, 'base-url': environment.OPENAI_BASE_URL, 'model-name': values['model-name'] ?? environment.OPENAI_MODEL ?? 'gpt-4o-mini' };
    if (values['api-key'] === undefined && environment.OPENAI_API_KEY) values['api-key'] = environment.OPENAI_API_KEY;
  }
  let bundled = false;
  if (values['base-url'] === undefined && values.model === undefined) {
    const { baseModelDirectory, baseModelId } = await import('@codestack/model-base');
    values = { ...values, model: baseModelDirectory, 'model-name': values['model-name'] ?? baseModelId };
    bundled = true;
  }
  const { getTokenizer, loadCompactVocabulary } = await import('@codestack/tokenizer');
  const localDirectory = values.model === undefined ? undefined : resolve(context.cwd ?? process.cwd(), values.model);
  // A checkpoint trained with a compact vocabulary carries it as vocabulary.json; --encoding overrides.
  const vocabularyPath = localDirectory === undefined ? undefined : join(localDirectory, 'vocabulary.json');
  const compactVocabulary =
    values.encoding === undefined && vocabularyPath !== undefined && existsSync(vocabularyPath) ? await loadCompactVocabulary(vocabularyPath) : undefined;
  const tokenizer: Tokenizer = compactVocabulary ?? getTokenizer(values.encoding ?? 'cl100k_base');
  if (values['base-url'] !== undefined) {
    if (values.model !== undefined) throw new InvalidArgumentError({ argument: '--model', message: 'give either --model DIR or --base-url, not both' });
    if (values.adapter !== undefined) throw new InvalidArgumentError({ argument: '--adapter', message: 'adapters apply to a local --model only' });
    const { OpenAICompatibleModel } = await import('./openai-compatible-model.js');
    const apiKey = values['api-key'] ?? process.env.CODESTACK_API_KEY;
    return {
      model: new OpenAICompatibleModel({ baseURL: values['base-url'], modelId: values['model-name'] ?? 'default', ...(apiKey ? { apiKey } : {}) }),
      tokenizer,
    };
  }
  const runtimePackage = await import('@codestack/runtime');
  const runtime = await runtimePackage.createRuntime();
  const directory = localDirectory!;
  const model = await runtimePackage.loadModel(runtime, directory);
  if (compactVocabulary !== undefined && compactVocabulary.vocabularySize > model.config.vocabularySize) {
    model.dispose();
    throw new FileFormatError({
      path: vocabularyPath!,
      reason: 'mismatch',
      message: `the vocabulary has ${compactVocabulary.vocabularySize} ids but the model only ${model.config.vocabularySize}`,
    });
  }
  if (values.adapter !== undefined) {
    const tuning = await import('@codestack/tuning');
    let adapterDirectory = resolve(context.cwd ?? process.cwd(), values.adapter);
    // With the bundled model, a bare name picks one of its bundled adapters (`--adapter rxjs`).
    if (bundled && !existsSync(adapterDirectory)) adapterDirectory = (await import('@codestack/model-base')).bundledAdapterDirectory(values.adapter);
    const adapter = await tuning.loadAdapter(model, adapterDirectory, { signal: context.signal });
    tuning.mergeAdapter(model, adapter);
  }
  const { createLocalLanguageModel } = await import('./local-language-model.js');
  return {
    model: createLocalLanguageModel({ model, tokenizer, modelId: values['model-name'] ?? 'codestack-local' }),
    tokenizer,
    contextTokens: model.config.maximumContext,
  };
}

async function resolveRetriever(directory: string | undefined, context: CliContext): Promise<Retriever | undefined> {
  if (directory === undefined) return undefined;
  const { loadDocsIndexRetriever } = await import('./docs-index-retriever.js');
  return loadDocsIndexRetriever(resolve(context.cwd ?? process.cwd(), directory), { signal: context.signal });
}

async function generateCommand(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parse(args, {
    ...modelOptions,
    docs: { type: 'string' },
    tests: { type: 'string' },
    language: { type: 'string' },
    'repair-rounds': { type: 'string' },
  });
  const task = positionals.join(' ');
  if (!task.trim()) throw new InvalidArgumentError({ argument: 'task', message: 'generate needs a task, such as codestack generate "write clamp"' });
  const language = values.language ?? 'typescript';
  if (language !== 'typescript' && language !== 'javascript') throw new InvalidArgumentError({ argument: '--language', message: 'must be typescript or javascript' });
  const { model, tokenizer, contextTokens } = await resolveModel(values, context);
  const retriever = await resolveRetriever(values.docs, context);
  const tests = values.tests === undefined ? undefined : await readInput(values.tests, context);
  // A small local model's window (the bundled one has 256 tokens) is shared: 3/8 for the answer.
  const defaultOutputTokens = contextTokens === undefined ? 512 : Math.min(512, Math.floor((contextTokens * 3) / 8));
  const { generate } = await import('./generate.js');
  const run = generate({
    task,
    model,
    tokenizer,
    ...(retriever ? { retriever } : {}),
    validation: { language, projectDirectory: context.cwd ?? process.cwd(), ...(tests === undefined ? {} : { tests }) },
    maximumRepairRounds: positiveInteger(values['repair-rounds'], '--repair-rounds', 2),
    maximumOutputTokens: positiveInteger(values['maximum-tokens'], '--maximum-tokens', defaultOutputTokens),
    ...(contextTokens === undefined ? {} : { contextTokens }),
    signal: context.signal,
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

async function completeCommand(args: readonly string[], context: CliContext): Promise<number> {
  const { values } = parse(args, { ...modelOptions, file: { type: 'string' }, line: { type: 'string' }, docs: { type: 'string' } });
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
  const { model, tokenizer, contextTokens } = await resolveModel(values, context);
  const maximumOutputTokens = positiveInteger(values['maximum-tokens'], '--maximum-tokens', 64);
  const retriever = await resolveRetriever(values.docs, context);
  let prompt = prefix;
  let documentTokens = 0;
  if (retriever) {
    const { buildCodeCompletionPrompt } = await import('./code-completion-prompt.js');
    let documents: string;
    ({ prompt, documents, documentTokens } = await buildCodeCompletionPrompt({
      prefix,
      tokenizer,
      retriever,
      maximumPromptTokens: Math.max(8, (contextTokens ?? 8192) - maximumOutputTokens),
      ...(context.signal ? { signal: context.signal } : {}),
    }));
    // The docs the model sees go to stderr, so stdout stays the completion alone.
    if (!values.json && documents) context.stderr.write(`retrieved docs:\n${documents}`);
  }
  const { streamText } = await import('./generate-text.js');
  const streamed = await streamText({ model, prompt, maximumOutputTokens, temperature: 0, signal: context.signal });
  let text = '';
  for await (const delta of streamed.textStream) {
    text += delta;
    if (!values.json) context.stdout.write(delta);
  }
  if (values.json) context.stdout.write(`${JSON.stringify({ completion: text, finishReason: await streamed.finishReason, usage: await streamed.usage, model: model.modelId, documentTokens })}\n`);
  else context.stdout.write('\n');
  return 0;
}

async function evalCommand(args: readonly string[], context: CliContext): Promise<number> {
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
  const { readEvalTasks } = await import('./eval-task.js');
  const { evaluatePassAtK } = await import('./evaluate-pass-at-k.js');
  let tasks = await readEvalTasks(resolve(context.cwd ?? process.cwd(), values.data));
  if (values.limit !== undefined) tasks = tasks.slice(0, positiveInteger(values.limit, '--limit', tasks.length));
  const samples = positiveInteger(values.samples, '--samples', 1);
  const k = (values.k ?? '1').split(',').map((item) => positiveInteger(item.trim(), '--k', 1));
  let complete: import('./evaluate-pass-at-k.js').TaskCompleter | undefined;
  if (!values.canonical) {
    const { model } = await resolveModel(values, context);
    const { generateText } = await import('./generate-text.js');
    const temperature = values.temperature === undefined ? (samples > 1 ? 0.8 : 0) : Number(values.temperature);
    const maximumOutputTokens = positiveInteger(values['maximum-tokens'], '--maximum-tokens', 384);
    complete = async (task, { sampleIndex, signal }) =>
      (await generateText({ model, prompt: task.prompt, maximumOutputTokens, temperature, seed: sampleIndex, ...(signal ? { signal } : {}) })).text;
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

async function completionEvalCommand(args: readonly string[], context: CliContext): Promise<number> {
  const { values } = parse(args, {
    ...modelOptions,
    data: { type: 'string' },
    docs: { type: 'string' },
    limit: { type: 'string' },
    'cases-per-file': { type: 'string' },
    'prompt-tokens': { type: 'string' },
    'document-tokens': { type: 'string' },
    details: { type: 'boolean' },
  });
  if (!values.data) throw new InvalidArgumentError({ argument: '--data', message: 'give held-out code: --data DIR or --data FILE.jsonl' });
  const { readCompletionSources, buildCompletionCases } = await import('./completion-cases.js');
  let sources = await readCompletionSources(resolve(context.cwd ?? process.cwd(), values.data));
  if (values.limit !== undefined) sources = sources.slice(0, positiveInteger(values.limit, '--limit', sources.length));
  if (sources.length === 0) throw new InvalidArgumentError({ argument: '--data', message: `no JavaScript or TypeScript sources in ${values.data}` });
  const casesPerFile = positiveInteger(values['cases-per-file'], '--cases-per-file', 4);
  const { model, tokenizer, contextTokens } = await resolveModel(values, context);
  const retriever = await resolveRetriever(values.docs, context);
  const maximumOutputTokens = Math.min(32, Math.floor((contextTokens ?? 4096) / 8));
  const maximumPromptTokens = positiveInteger(values['prompt-tokens'], '--prompt-tokens', Math.min(1024, (contextTokens ?? 4096) - maximumOutputTokens));
  const { evaluateCompletion } = await import('./evaluate-completion.js');
  const cases = buildCompletionCases(sources, { casesPerFile });
  const progress = createProgressReporter({ label: 'completion', total: cases.length, json: values.json === true, stream: context.stderr });
  const report = await evaluateCompletion({
    model,
    tokenizer,
    sources,
    cases,
    maximumPromptTokens,
    maximumOutputTokens,
    ...(retriever ? { retriever } : {}),
    ...(values['document-tokens'] === undefined ? {} : { maximumDocumentTokens: positiveInteger(values['document-tokens'], '--document-tokens', 0) }),
    progress,
    ...(context.signal ? { signal: context.signal } : {}),
  });
  const summary = {
    model: model.modelId,
    adapter: values.adapter ?? null,
    docs: values.docs ?? null,
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
    `next line ${percent(report.nextLine.exactMatch)} (${report.nextLine.exact}/${report.nextLine.cases}, edit similarity ${report.nextLine.editSimilarity.toFixed(3)})  next identifier ${percent(report.nextIdentifier.exactMatch)} (${report.nextIdentifier.exact}/${report.nextIdentifier.cases}, edit similarity ${report.nextIdentifier.editSimilarity.toFixed(3)})  over ${report.files} files${retriever ? ', with docs' : ''}`,
  );
  return 0;
}

async function serveCommand(args: readonly string[], context: CliContext): Promise<number> {
  const { values } = parse(args, { ...modelOptions, port: { type: 'string' }, host: { type: 'string' }, 'server-api-key': { type: 'string' } });
  const port = positiveInteger(values.port, '--port', 8080);
  const { model } = await resolveModel(values, context);
  const { createOpenAIServer } = await import('./openai-server.js');
  const apiKey = values['server-api-key'] ?? process.env.CODESTACK_SERVER_API_KEY;
  const server = createOpenAIServer({ model, ...(apiKey ? { apiKey } : {}) });
  const { url } = await server.listen(port, values.host ?? '127.0.0.1');
  write(context, values.json, { event: 'listening', url, model: model.modelId }, `Serving ${model.modelId} at ${url}`);
  await new Promise<void>((resolvePromise) => {
    if (context.signal?.aborted) resolvePromise();
    context.signal?.addEventListener('abort', () => resolvePromise(), { once: true });
  });
  await server.close();
  return 0;
}
