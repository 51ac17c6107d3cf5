import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FileFormatError, InvalidArgumentError, throwIfAborted, type Tokenizer } from '@codestack/core';
import type { LlamaModel, Runtime } from '@codestack/runtime';
import { defaultHuggingFaceContextTokens, huggingFacePromptEncoder, isHuggingFaceDirectory, readEndOfSequenceIds } from './hugging-face-directory.js';
import { createLocalLanguageModel, type LocalLanguageModel, type PromptEncoder } from './local-language-model.js';

/** Options of {@link loadLocalModel}. */
export interface LoadLocalModelOptions {
  /** The tensor runtime to load onto. Default: `createRuntime()` of `@codestack/runtime` (the fastest backend available). */
  runtime?: Runtime;
  /** The id the model reports. Default `codestack-local`. */
  modelId?: string;
  /**
   * The tokenizer encoding (`cl100k_base`, `o200k_base`, ...). Default: the checkpoint's own
   * tokenizer — a Hugging Face directory's `tokenizer.json`, else its `vocabulary.json` — and
   * `cl100k_base` when it has neither.
   */
  encoding?: string;
  /**
   * The context window in tokens. Default: the model's; for a Hugging Face directory its
   * `max_position_embeddings`, at most 8,192 (ask for more here, up to `max_position_embeddings`).
   */
  contextTokens?: number;
  /** An adapter directory (a PEFT-style LoRA) to merge into the weights. */
  adapter?: string;
  /**
   * Named adapter directories to keep unmerged; a call picks one with
   * `providerOptions.codestack.adapter` (see `createLocalLanguageModel`).
   */
  adapters?: Readonly<Record<string, string>>;
  /** Cancels the load. */
  signal?: AbortSignal;
}

/**
 * A local model ready to call: a {@link LocalLanguageModel} (the contract plus its context window,
 * output limit, end-of-sequence ids and tokenizer) with the runtime and weights it owns.
 */
export interface LoadedLocalModel extends LocalLanguageModel {
  /** The runtime the weights live on. */
  readonly runtime: Runtime;
  /** The loaded weights, for `@codestack/tuning` and the runtime's own functions. */
  readonly model: LlamaModel;
  /** Frees the weights. The model cannot be called afterwards. */
  dispose(): void;
}

/** The files a checkpoint directory must hold, as `saveModel` of `@codestack/runtime` writes them. */
export const localModelFiles: readonly string[] = ['config.json', 'model.safetensors'];
// (`model.safetensors.index.json` with its shards stands in for `model.safetensors`.)

function checkDirectory(directory: string, what: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(directory).isDirectory();
  } catch {
    // Reported below with the path and what belongs there.
  }
  const expected = what === 'model' ? localModelFiles : ['adapter_config.json', 'adapter_model.safetensors'];
  if (!isDirectory) {
    throw new FileFormatError({
      path: directory,
      reason: 'missing',
      message: `no ${what} directory at ${directory}: expected a directory holding ${expected.join(' and ')}`,
    });
  }
  // A sharded checkpoint (a Hugging Face download of a larger model) has an index instead of one weights file.
  const present = (file: string): boolean =>
    existsSync(join(directory, file)) || (what === 'model' && file === 'model.safetensors' && existsSync(join(directory, 'model.safetensors.index.json')));
  const missing = expected.filter((file) => !present(file));
  if (missing.length > 0) {
    throw new FileFormatError({
      path: directory,
      reason: 'missing',
      message: `${directory} is not a ${what} checkpoint: ${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} missing (expected ${expected.join(' and ')})`,
    });
  }
}

/** The end-of-text id of `tokenizer`, when the model's vocabulary has it. */
function endOfSequenceIdsOf(tokenizer: Tokenizer, vocabularySize: number): number[] {
  const compact = (tokenizer as Partial<{ specialTokens: { eos: number } }>).specialTokens;
  if (compact !== undefined) return [compact.eos];
  try {
    const encode = tokenizer.encode as (text: string, options?: { allowedSpecialTokens?: readonly string[] }) => number[];
    const ids = encode.call(tokenizer, '<|endoftext|>', { allowedSpecialTokens: ['<|endoftext|>'] });
    return ids.length === 1 && ids[0]! < vocabularySize ? ids : [];
  } catch {
    return [];
  }
}

/**
 * Loads a checkpoint directory in one call: the runtime (unless given), the weights, the tokenizer
 * (its `vocabulary.json`, else `encoding`), the end-of-sequence ids and any adapters, and returns a
 * model that carries its limits, so `generateCode({ task, model })` needs no tokenizer and no budget
 * options.
 *
 * A Hugging Face download of a `llama`, `mistral`, `qwen2` or `qwen3` model (a `tokenizer.json`
 * beside `config.json`) brings its own: `loadHuggingFaceTokenizer` of its files, the
 * end-of-sequence ids of `generation_config.json`, `config.json` and `tokenizer_config.json`, the
 * context window of `max_position_embeddings` (at most 8,192 unless `contextTokens` says), chat
 * prompts rendered with its own chat template (the rendered template is what `countPromptTokens`
 * counts; control-token text inside a message stays text) and fill-in-the-middle prompts with its
 * own markers.
 *
 * @example
 * const model = await loadLocalModel('./my-checkpoint');
 * const { result } = generateCode({ task: 'Write clamp(value, low, high).', model });
 *
 * @throws FileFormatError (`MISSING_FILE`) naming the directory and the files expected there;
 * `InvalidArgumentError` when the tokenizer's ids do not fit the model.
 */
export async function loadLocalModel(directory: string, options: LoadLocalModelOptions = {}): Promise<LoadedLocalModel> {
  throwIfAborted(options.signal, 'loadLocalModel');
  const modelDirectory = resolve(directory);
  checkDirectory(modelDirectory, 'model');
  if (options.adapter !== undefined && options.adapters !== undefined) {
    throw new InvalidArgumentError({ argument: 'adapter', message: 'give either adapter (merged) or adapters (routed by name), not both' });
  }
  const tokenizerPackage = await import('@codestack/tokenizer');
  const vocabularyPath = join(modelDirectory, 'vocabulary.json');
  // A Hugging Face download carries its own tokenizer.json, chat template and end-of-sequence ids.
  const huggingFaceTokenizer =
    options.encoding === undefined && isHuggingFaceDirectory(modelDirectory)
      ? await tokenizerPackage.loadHuggingFaceTokenizer(modelDirectory, options.signal ? { signal: options.signal } : {})
      : undefined;
  const compactVocabulary =
    options.encoding === undefined && huggingFaceTokenizer === undefined && existsSync(vocabularyPath) ? await tokenizerPackage.loadCompactVocabulary(vocabularyPath) : undefined;
  const tokenizer: Tokenizer = huggingFaceTokenizer ?? compactVocabulary ?? tokenizerPackage.getTokenizer(options.encoding ?? 'cl100k_base');
  const runtimePackage = await import('@codestack/runtime');
  const runtime = options.runtime ?? (await runtimePackage.createRuntime());
  throwIfAborted(options.signal, 'loadLocalModel');
  const model = await runtimePackage.loadModel(runtime, modelDirectory);
  try {
    const vocabularySize = model.config.vocabularySize;
    // A checkpoint's own vocabulary must fit; a chosen encoding is checked per call, naming the id.
    if (compactVocabulary !== undefined && compactVocabulary.vocabularySize > vocabularySize) {
      throw new FileFormatError({
        path: vocabularyPath,
        reason: 'mismatch',
        message: `the vocabulary has ${compactVocabulary.vocabularySize} ids but the model only ${vocabularySize}`,
      });
    }
    let adapterSet: import('@codestack/tuning').AdapterSet | undefined;
    if (options.adapter !== undefined || options.adapters !== undefined) {
      const tuning = await import('@codestack/tuning');
      if (options.adapter !== undefined) {
        const adapterDirectory = resolve(options.adapter);
        checkDirectory(adapterDirectory, 'adapter');
        tuning.mergeAdapter(model, await tuning.loadAdapter(model, adapterDirectory, { signal: options.signal }));
      } else {
        adapterSet = new tuning.AdapterSet(model);
        for (const [name, adapterDirectory] of Object.entries(options.adapters!)) {
          checkDirectory(resolve(adapterDirectory), 'adapter');
          adapterSet.add(name, await tuning.loadAdapter(model, resolve(adapterDirectory), { signal: options.signal }));
        }
      }
    }
    let promptEncoder: PromptEncoder | undefined;
    let endOfSequenceIds: number[];
    let contextTokens = options.contextTokens;
    if (huggingFaceTokenizer !== undefined) {
      // Added tokens past the embedding rows would fail on the first prompt that holds one; say so now.
      if (huggingFaceTokenizer.vocabularySize > vocabularySize) {
        throw new FileFormatError({
          path: join(modelDirectory, 'tokenizer.json'),
          reason: 'mismatch',
          message: `the tokenizer has ${huggingFaceTokenizer.vocabularySize} ids but the model's embedding only ${vocabularySize}`,
        });
      }
      promptEncoder = huggingFacePromptEncoder(huggingFaceTokenizer);
      endOfSequenceIds = await readEndOfSequenceIds(modelDirectory, huggingFaceTokenizer, vocabularySize);
      contextTokens ??= Math.min(model.config.maximumContext, defaultHuggingFaceContextTokens);
    } else endOfSequenceIds = endOfSequenceIdsOf(tokenizer, vocabularySize);
    const languageModel = createLocalLanguageModel({
      model,
      tokenizer,
      ...(promptEncoder ? { promptEncoder } : {}),
      ...(contextTokens === undefined ? {} : { contextTokens }),
      modelId: options.modelId ?? 'codestack-local',
      ...(endOfSequenceIds.length > 0 ? { endOfSequenceIds } : {}),
      ...(adapterSet ? { adapters: adapterSet } : {}),
    });
    return Object.assign(languageModel, {
      runtime,
      model,
      dispose: () => model.dispose(),
    });
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/** Options of {@link loadBundledModel}. */
export interface LoadBundledModelOptions extends Omit<LoadLocalModelOptions, 'modelId' | 'encoding' | 'adapter' | 'adapters'> {
  /** A bundled adapter by name (such as `rxjs`), merged into the weights. */
  adapter?: string;
}

/**
 * Loads the bundled 1M-parameter base model of `@codestack/model-base` (256 tokens of context),
 * optionally with one of its bundled adapters, as {@link loadLocalModel} does.
 *
 * @example
 * const model = await loadBundledModel({ adapter: 'rxjs' });
 */
export async function loadBundledModel(options: LoadBundledModelOptions = {}): Promise<LoadedLocalModel> {
  const { baseModelDirectory, baseModelId, bundledAdapterDirectory } = await import('@codestack/model-base');
  const { adapter, ...rest } = options;
  return loadLocalModel(baseModelDirectory, {
    ...rest,
    modelId: baseModelId,
    ...(adapter === undefined ? {} : { adapter: bundledAdapterDirectory(adapter) }),
  });
}
