import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { InvalidArgumentError, type LanguageModel, type Retriever, type Tokenizer } from '@codestack/core';
import type { LoadedLocalModel } from '@codestack/orchestrator/local';
import type { CliContext } from './cli-context.js';
import { positiveInteger } from './arguments.js';

/** The options every model-using command takes. */
export const modelOptions = {
  model: { type: 'string' },
  encoding: { type: 'string' },
  'base-url': { type: 'string' },
  'model-name': { type: 'string' },
  'api-key': { type: 'string' },
  adapter: { type: 'string' },
  json: { type: 'boolean' },
  'maximum-tokens': { type: 'string' },
  'context-tokens': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

/** The parsed model options. */
export interface ModelValues {
  model?: string;
  encoding?: string;
  'base-url'?: string;
  'model-name'?: string;
  'api-key'?: string;
  adapter?: string;
  'context-tokens'?: string;
}

/** What {@link resolveModel} built. */
export interface ResolvedModel {
  /** The model to call. */
  model: LanguageModel;
  /** Its tokenizer (of an endpoint: the one chosen by --encoding). */
  tokenizer: Tokenizer;
  /** Its context window, when known. */
  contextTokens?: number;
  /** The local model with its weights, when the model runs here (for datastores). */
  local?: LoadedLocalModel;
}

/**
 * Builds the model the model options name, in this order: `--base-url` (an OpenAI-compatible
 * endpoint), `--model DIR` (a local checkpoint), the `OPENAI_BASE_URL` environment variable (with
 * `OPENAI_API_KEY` and `OPENAI_MODEL`), and otherwise the bundled base model of
 * `@codestack/model-base` on the local runtime.
 */
export async function resolveModel(values: ModelValues, context: CliContext): Promise<ResolvedModel> {
  const environment = context.environment ?? {};
  const cwd = context.cwd ?? process.cwd();
  if (values['base-url'] === undefined && values.model === undefined && environment.OPENAI_BASE_URL) {
    values = { ...values, 'base-url': environment.OPENAI_BASE_URL, 'model-name': values['model-name'] ?? environment.OPENAI_MODEL ?? 'gpt-4o-mini' };
    if (values['api-key'] === undefined && environment.OPENAI_API_KEY) values['api-key'] = environment.OPENAI_API_KEY;
  }
  if (values['base-url'] !== undefined) {
    if (values.model !== undefined) throw new InvalidArgumentError({ argument: '--model', message: 'give either --model DIR or --base-url, not both' });
    if (values.adapter !== undefined) throw new InvalidArgumentError({ argument: '--adapter', message: 'adapters apply to a local --model only' });
    const { getTokenizer } = await import('@codestack/tokenizer');
    const { OpenAICompatibleModel } = await import('@codestack/orchestrator');
    const apiKey = values['api-key'] ?? environment.CODESTACK_API_KEY;
    return {
      model: new OpenAICompatibleModel({ baseURL: values['base-url'], modelId: values['model-name'] ?? 'default', ...(apiKey ? { apiKey } : {}) }),
      tokenizer: getTokenizer(values.encoding ?? 'cl100k_base'),
      // An endpoint does not say its context window: prompts are budgeted for the one given here.
      ...(values['context-tokens'] === undefined ? {} : { contextTokens: positiveInteger(values['context-tokens'], '--context-tokens', 0) }),
    };
  }
  if (values['context-tokens'] !== undefined) throw new InvalidArgumentError({ argument: '--context-tokens', message: 'applies to a --base-url model only; a local model knows its context window' });
  // A local checkpoint, or without one the bundled base model: one loadLocalModel call either way.
  const bundled = values.model === undefined;
  const modelBase = bundled ? await import('@codestack/model-base') : undefined;
  const directory = modelBase ? modelBase.baseModelDirectory : resolve(cwd, values.model!);
  let adapter = values.adapter === undefined ? undefined : resolve(cwd, values.adapter);
  // With the bundled model, a bare name picks one of its bundled adapters (`--adapter rxjs`).
  if (modelBase && adapter !== undefined && !existsSync(adapter)) adapter = modelBase.bundledAdapterDirectory(values.adapter!);
  const { loadLocalModel } = await import('@codestack/orchestrator/local');
  const model = await loadLocalModel(directory, {
    modelId: values['model-name'] ?? modelBase?.baseModelId ?? 'codestack-local',
    ...(values.encoding === undefined ? {} : { encoding: values.encoding }),
    ...(adapter === undefined ? {} : { adapter }),
    ...(context.signal ? { signal: context.signal } : {}),
  });
  return { model, tokenizer: model.tokenizer, contextTokens: model.contextTokens, local: model };
}

/** Loads the docs index retriever of `--docs DIR`, if given. */
export async function resolveRetriever(directory: string | undefined, context: CliContext): Promise<Retriever | undefined> {
  if (directory === undefined) return undefined;
  const { loadDocsIndexRetriever } = await import('@codestack/orchestrator/retrieval');
  return loadDocsIndexRetriever(resolve(context.cwd ?? process.cwd(), directory), { signal: context.signal });
}

/**
 * The output tokens of a command: `--maximum-tokens` when given (checked against a local model's
 * context window), else the command's `preferred` default capped at 3/8 of that window, so a
 * default always fits the model (the bundled model's 256 tokens give at most 96).
 */
export function outputTokens(given: string | undefined, contextTokens: number | undefined, preferred: number): number {
  if (given === undefined) return contextTokens === undefined ? preferred : Math.max(1, Math.min(preferred, Math.floor((contextTokens * 3) / 8)));
  const tokens = positiveInteger(given, '--maximum-tokens', preferred);
  if (tokens < 1 || (contextTokens !== undefined && tokens >= contextTokens)) {
    throw new InvalidArgumentError({
      argument: '--maximum-tokens',
      message: `must be in [1, ${contextTokens === undefined ? '∞' : contextTokens - 1}]${contextTokens === undefined ? '' : ` for the model's context window of ${contextTokens} tokens`}, got ${tokens}`,
    });
  }
  return tokens;
}
