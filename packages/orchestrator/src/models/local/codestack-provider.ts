import { isAbsolute } from 'node:path';
import type { LanguageModelV3, ProviderV3 } from '@ai-sdk/provider';
import { InvalidArgumentError } from '@codestack/core';
import type { Runtime } from '@codestack/runtime';
import { toAISDKLanguageModel } from '../ai-sdk-interop.js';
import { loadBundledModel, loadLocalModel, type LoadedLocalModel } from './load-local-model.js';

/** The id of the bundled base model, the default of {@link CodestackProvider}. */
const bundledModelId = 'codestack-base-1m';

/** Options of {@link createCodestack}. */
export interface CodestackProviderSettings {
  /** The runtime every model loads onto. Default: one `createRuntime()`, made on the first call. */
  runtime?: Runtime;
  /** Checkpoint directories by model id, so `codestack('my-model')` loads `models['my-model']`. */
  models?: Readonly<Record<string, string>>;
}

/** Settings of one model of {@link CodestackProvider}. */
export interface CodestackModelSettings {
  /** An adapter to merge: a bundled adapter name (`rxjs`) for the bundled model, else a directory. */
  adapter?: string;
}

/**
 * An AI SDK provider of local codestack models: call it with a model id to get a
 * `LanguageModelV3` for `generateText` and `streamText` of the `ai` package. A model loads on its
 * first call and is cached; `maxOutputTokens`, `temperature`, `topK`, `topP`, `seed`,
 * `stopSequences`, `system`/`messages` and `abortSignal` pass through.
 */
export interface CodestackProvider extends ProviderV3 {
  /** The model `modelId`: `codestack-base-1m` (the default), a key of `models`, or a checkpoint directory. */
  (modelId?: string, settings?: CodestackModelSettings): LanguageModelV3;
  /** The same as calling the provider. */
  languageModel(modelId: string, settings?: CodestackModelSettings): LanguageModelV3;
  /** Loads (or returns the cached) model itself, with its limits and tokenizer. */
  load(modelId?: string, settings?: CodestackModelSettings): Promise<LoadedLocalModel>;
}

/**
 * Creates a {@link CodestackProvider}, in the style of the AI SDK's `createOpenAI`.
 *
 * @example
 * import { generateText } from 'ai';
 * const codestack = createCodestack();
 * const { text } = await generateText({ model: codestack('codestack-base-1m'), prompt: 'export function add(', maxOutputTokens: 16 });
 */
export function createCodestack(settings: CodestackProviderSettings = {}): CodestackProvider {
  const cache = new Map<string, Promise<LoadedLocalModel>>();
  let runtime: Promise<Runtime> | undefined = settings.runtime ? Promise.resolve(settings.runtime) : undefined;
  const sharedRuntime = (): Promise<Runtime> => (runtime ??= import('@codestack/runtime').then((module) => module.createRuntime()));

  const load = (modelId: string = bundledModelId, modelSettings: CodestackModelSettings = {}): Promise<LoadedLocalModel> => {
    const key = JSON.stringify([modelId, modelSettings.adapter ?? null]);
    let loading = cache.get(key);
    if (loading === undefined) {
      loading = (async () => {
        const loadedRuntime = await sharedRuntime();
        if (modelId === bundledModelId) {
          return loadBundledModel({ runtime: loadedRuntime, ...(modelSettings.adapter === undefined ? {} : { adapter: modelSettings.adapter }) });
        }
        const directory = settings.models?.[modelId] ?? (isAbsolute(modelId) || modelId.startsWith('.') ? modelId : undefined);
        if (directory === undefined) {
          const known = [bundledModelId, ...Object.keys(settings.models ?? {})];
          throw new InvalidArgumentError({ argument: 'modelId', message: `no codestack model ${JSON.stringify(modelId)}; known: ${known.join(', ')}, or a checkpoint directory path` });
        }
        return loadLocalModel(directory, { runtime: loadedRuntime, modelId, ...(modelSettings.adapter === undefined ? {} : { adapter: modelSettings.adapter }) });
      })();
      // A failed load is not cached: the next call tries again.
      loading.catch(() => cache.delete(key));
      cache.set(key, loading);
    }
    return loading;
  };

  const languageModel = (modelId: string = bundledModelId, modelSettings: CodestackModelSettings = {}): LanguageModelV3 => {
    const adapted = load(modelId, modelSettings).then((model) => toAISDKLanguageModel(model));
    // A load failure surfaces from the first call; keep it from being an unhandled rejection before that.
    adapted.catch(() => undefined);
    return {
      specificationVersion: 'v3',
      provider: 'codestack.local',
      modelId,
      supportedUrls: {},
      doGenerate: async (options) => (await adapted).doGenerate(options),
      doStream: async (options) => (await adapted).doStream(options),
    };
  };

  const unsupported = (modelType: string) => (modelId: string): never => {
    throw new InvalidArgumentError({ argument: 'modelId', message: `codestack provides language models only, not ${modelType} ${JSON.stringify(modelId)}` });
  };
  const provider = Object.assign((modelId?: string, modelSettings?: CodestackModelSettings) => languageModel(modelId, modelSettings), {
    specificationVersion: 'v3' as const,
    languageModel,
    load,
    embeddingModel: unsupported('embedding model'),
    imageModel: unsupported('image model'),
  });
  return provider;
}
