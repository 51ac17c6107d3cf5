import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { FileFormatError, InvalidArgumentError, type LanguageModel, type Retriever, type Tokenizer } from '@codestack/core';
import type { CliContext } from './cli-context.js';

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
} as const satisfies ParseArgsConfig['options'];

/** The parsed model options. */
export interface ModelValues {
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
export async function resolveModel(values: ModelValues, context: CliContext): Promise<{ model: LanguageModel; tokenizer: Tokenizer; contextTokens?: number }> {
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
    const { OpenAICompatibleModel } = await import('../openai-compatible-model.js');
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
  const { createLocalLanguageModel } = await import('../local-language-model.js');
  return {
    model: createLocalLanguageModel({ model, tokenizer, modelId: values['model-name'] ?? 'codestack-local' }),
    tokenizer,
    contextTokens: model.config.maximumContext,
  };
}

/** Loads the docs index retriever of `--docs DIR`, if given. */
export async function resolveRetriever(directory: string | undefined, context: CliContext): Promise<Retriever | undefined> {
  if (directory === undefined) return undefined;
  const { loadDocsIndexRetriever } = await import('../docs-index-retriever.js');
  return loadDocsIndexRetriever(resolve(context.cwd ?? process.cwd(), directory), { signal: context.signal });
}
