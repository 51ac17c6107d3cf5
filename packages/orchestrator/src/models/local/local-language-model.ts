import {
  InvalidArgumentError,
  type LanguageModel,
  type LanguageModelCallOptions,
  type LanguageModelFinishReason,
  type LanguageModelGenerateResult,
  type LanguageModelMessage,
  type LanguageModelStreamPart,
  type LanguageModelStreamResult,
  type Tokenizer,
} from '@codestack/core';
import { streamGenerate, type FinishReason, type GenerationOptions, type GenerationResult, type LlamaModel } from '@codestack/runtime';
import type { AdapterSet } from '@codestack/tuning';
import { renderChatPrompt } from '../../prompt/chat-template.js';
import { buildFillInTheMiddlePrompt, type FillInTheMiddleSentinels } from '../../prompt/fill-in-the-middle-template.js';
import { PromptTooLongError } from '../../prompt/prompt-too-long-error.js';
import { ContinuousCacheBuilders, knnCallProcessors, type KnnCallSetup } from '../../datastore/knn-call-processors.js';

/** Options of {@link createLocalLanguageModel}. */
export interface LocalLanguageModelOptions {
  /** The loaded model of `@codestack/runtime`. */
  model: LlamaModel;
  /** The tokenizer whose ids the model was trained on. */
  tokenizer: Tokenizer;
  /** The id reported as `modelId`. Default `codestack-local`. */
  modelId?: string;
  /** Token ids that end generation, such as the end-of-text token. */
  endOfSequenceIds?: readonly number[];
  /** Renders chat messages into the model's text prompt. Default {@link renderChatPrompt}. */
  renderChat?: (messages: readonly LanguageModelMessage[]) => string;
  /** Tokens generated when a call does not say. Default 64, but at most a quarter of the context window. */
  defaultMaximumOutputTokens?: number;
  /**
   * The sentinels of a fill-in-the-middle model. With them, a text prompt and
   * `providerOptions.codestack.suffix` become a prefix-suffix-middle prompt; without them a suffix
   * is refused.
   */
  fillInTheMiddle?: FillInTheMiddleSentinels;
  /**
   * LoRA/IA3 adapters on `model` (a `@codestack/tuning` `AdapterSet`). A request picks one with
   * `providerOptions.codestack.adapter` (by name; the base model runs when it is absent). The set
   * has one active slot, so while adapters are configured, requests run one at a time (each holds
   * the model from its first to its last token; a stream until it ends or is cancelled).
   */
  adapters?: AdapterSet;
  /**
   * Turns prompts into ids the model's own way (a Hugging Face model: its chat template, its
   * fill-in-the-middle markers, its beginning-of-sequence token). When given, it replaces
   * `renderChat` and `fillInTheMiddle`, and `countPromptTokens` counts what it returns.
   */
  promptEncoder?: PromptEncoder;
  /** The context window, at most the model's `maximumContext` (the default). */
  contextTokens?: number;
}

/** How a model turns each kind of prompt into token ids (see {@link LocalLanguageModelOptions.promptEncoder}). */
export interface PromptEncoder {
  /** A completion prompt: text the model continues. */
  text(prompt: string): number[];
  /** A conversation, ending where the assistant's reply begins. */
  chat(messages: readonly LanguageModelMessage[]): number[];
  /** A fill-in-the-middle prompt, when the model knows how; without it a suffix is refused. */
  fillInTheMiddle?(prefix: string, suffix: string): number[];
}

/** A {@link LanguageModel} on the local runtime, with the limits of its context window. */
export interface LocalLanguageModel extends LanguageModel {
  /** The model's context window in tokens (prompt and output together). */
  readonly contextTokens: number;
  /** The most output tokens one call may ask for: the context window less one prompt token. */
  readonly maxOutputTokens: number;
  /** The token ids that end generation (empty when none were configured). */
  readonly endOfSequenceIds: readonly number[];
  /** The tokenizer whose ids the model was trained on. */
  readonly tokenizer: Tokenizer;
  /**
   * The tokens of `prompt` as this model receives it: a text prompt as is, chat messages rendered
   * with its chat template, counted with its tokenizer. Prompt budgets measure with it, so that
   * what fits the budget fits the model.
   */
  countPromptTokens(prompt: string | readonly LanguageModelMessage[]): number;
}

/**
 * Lets timers, sockets and other requests run between two decoded tokens. Decoding one token is
 * synchronous work that resolves in microtasks only, so without this a whole generation would hold
 * the event loop: a stream's bytes would leave with the last token and a disconnect or a second
 * request would wait for the end.
 */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const finishReasons: Record<FinishReason, LanguageModelFinishReason> = {
  length: 'length',
  'end-of-sequence': 'stop',
  'stop-sequence': 'stop',
  context: 'length',
};

/**
 * Adapts the local runtime (a `LlamaModel` and `generate` / `streamGenerate` of
 * `@codestack/runtime`) to the {@link LanguageModel} contract. Nothing is cut: a prompt that does
 * not fit in the context window with the call's output tokens is a {@link PromptTooLongError}
 * naming the sizes (fit prompts with `allocatePromptBudget` measured by `countPromptTokens`). `providerOptions.codestack.useCache` may switch the key/value cache off.
 */
export function createLocalLanguageModel(options: LocalLanguageModelOptions): LocalLanguageModel {
  const renderChat = options.renderChat ?? renderChatPrompt;
  const modelContext = options.model.config.maximumContext;
  if (options.contextTokens !== undefined && (!Number.isInteger(options.contextTokens) || options.contextTokens < 2 || options.contextTokens > modelContext)) {
    throw new InvalidArgumentError({ argument: 'contextTokens', message: `must be an integer in [2, ${modelContext}] (the model's maximumContext), got ${String(options.contextTokens)}` });
  }
  const context = options.contextTokens ?? modelContext;
  const defaultTokens = options.defaultMaximumOutputTokens ?? Math.max(1, Math.min(64, Math.floor(context / 4)));
  const fillInTheMiddle = options.fillInTheMiddle;
  const encoder: PromptEncoder = options.promptEncoder ?? {
    text: (prompt) => options.tokenizer.encode(prompt),
    chat: (messages) => options.tokenizer.encode(renderChat(messages)),
    ...(fillInTheMiddle === undefined ? {} : { fillInTheMiddle: (prefix: string, suffix: string) => options.tokenizer.encode(buildFillInTheMiddlePrompt(prefix, suffix, fillInTheMiddle)) }),
  };
  const adapters = options.adapters;
  const cacheBuilders = new ContinuousCacheBuilders();
  let queue: Promise<void> = Promise.resolve();
  /** Waits for the model (only while adapters are configured) and returns the release function. */
  const acquire = async (call: LanguageModelCallOptions): Promise<() => void> => {
    const name = call.providerOptions?.codestack?.adapter;
    if (name !== undefined && typeof name !== 'string') {
      throw new InvalidArgumentError({ argument: 'providerOptions.codestack.adapter', message: 'expected an adapter name' });
    }
    if (adapters === undefined) {
      if (name !== undefined) throw new InvalidArgumentError({ argument: 'providerOptions.codestack.adapter', message: `this model has no adapters (asked for ${JSON.stringify(name)})` });
      return () => {};
    }
    if (name !== undefined) adapters.get(name);
    let release!: () => void;
    const turn = new Promise<void>((resolve) => (release = resolve));
    const previous = queue;
    queue = previous.then(() => turn);
    await previous;
    adapters.use(name);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      adapters.use(undefined);
      release();
    };
  };

  const prepare = (call: LanguageModelCallOptions): { ids: number[]; generation: GenerationOptions } => {
    const suffix = call.providerOptions?.codestack?.suffix;
    let encode = (): number[] => (typeof call.prompt === 'string' ? encoder.text(call.prompt) : encoder.chat(call.prompt));
    if (typeof suffix === 'string') {
      const encodeFillInTheMiddle = encoder.fillInTheMiddle;
      if (encodeFillInTheMiddle === undefined) {
        throw new InvalidArgumentError({ argument: 'providerOptions.codestack.suffix', message: 'this model was not configured for fill-in-the-middle' });
      }
      if (typeof call.prompt !== 'string') {
        throw new InvalidArgumentError({ argument: 'prompt', message: 'fill-in-the-middle needs a text prompt (the prefix)' });
      }
      const prefix = call.prompt;
      encode = () => encodeFillInTheMiddle(prefix, suffix);
    }
    const maximumNewTokens = call.maxOutputTokens ?? defaultTokens;
    if (!Number.isInteger(maximumNewTokens) || maximumNewTokens < 1 || maximumNewTokens >= context) {
      const source =
        call.maxOutputTokens !== undefined
          ? `got ${String(maximumNewTokens)}`
          : `got ${String(maximumNewTokens)} from the default defaultMaximumOutputTokens of createLocalLanguageModel`;
      throw new InvalidArgumentError({
        argument: call.maxOutputTokens !== undefined ? 'maxOutputTokens' : 'defaultMaximumOutputTokens',
        message: `must be an integer in [1, ${context - 1}] for a context window of ${context} tokens; ${source}`,
      });
    }
    const ids = encode();
    if (ids.length === 0) throw new InvalidArgumentError({ argument: 'prompt', message: 'encodes to no tokens' });
    const outside = ids.find((id) => id >= options.model.config.vocabularySize);
    if (outside !== undefined) {
      throw new InvalidArgumentError({
        argument: 'tokenizer',
        message: `${options.tokenizer.encodingName} produced id ${outside}, outside the model's vocabulary of ${options.model.config.vocabularySize}; use the tokenizer the model was trained with`,
      });
    }
    if (ids.length + maximumNewTokens > context) {
      throw new PromptTooLongError({ what: 'The prompt', promptTokens: ids.length, contextTokens: context, reservedOutputTokens: maximumNewTokens });
    }
    const generation: GenerationOptions = {
      maximumNewTokens,
      tokenizer: options.tokenizer,
      signal: call.abortSignal,
    };
    if (call.temperature !== undefined) generation.temperature = call.temperature;
    if (call.topK !== undefined) generation.topK = call.topK;
    if (call.topP !== undefined) generation.topP = call.topP;
    if (call.seed !== undefined) generation.seed = call.seed;
    if (call.stopSequences?.length) generation.stopSequences = call.stopSequences;
    if (options.endOfSequenceIds) generation.endOfSequenceIds = options.endOfSequenceIds;
    if (call.providerOptions?.codestack?.useCache === false) generation.useCache = false;
    return { ids, generation };
  };

  return {
    specificationVersion: 'codestack-v1',
    provider: 'codestack.local',
    modelId: options.modelId ?? 'codestack-local',
    contextTokens: context,
    maxOutputTokens: context - 1,
    endOfSequenceIds: options.endOfSequenceIds ?? [],
    tokenizer: options.tokenizer,
    countPromptTokens(prompt) {
      return (typeof prompt === 'string' ? encoder.text(prompt) : encoder.chat(prompt)).length;
    },
    async doGenerate(call): Promise<LanguageModelGenerateResult> {
      const { ids, generation } = prepare(call);
      const release = await acquire(call);
      let result: GenerationResult | undefined;
      let knn: KnnCallSetup;
      try {
        // kNN-LM lookups (providerOptions.codestack.knn), set up once the adapter is in place.
        knn = await knnCallProcessors(call, options.model, options.tokenizer, cacheBuilders);
        if (knn.processors.length > 0) generation.mixingProcessors = knn.processors;
        const iterator = streamGenerate(options.model, ids, generation);
        for (;;) {
          await yieldToEventLoop();
          const next = await iterator.next();
          if (next.done === true) {
            result = next.value;
            break;
          }
        }
      } finally {
        release();
      }
      return {
        text: result?.text ?? '',
        finishReason: finishReasons[result?.finishReason ?? 'length'],
        usage: { inputTokens: ids.length, outputTokens: result?.tokens.length ?? 0 },
        ...(knn.processors.length > 0 ? { providerMetadata: { codestack: { knnDatastoreEntries: knn.datastoreEntries, knnCacheEntries: knn.cacheEntries, knnCacheMilliseconds: knn.cacheMilliseconds, knnCacheReusedEntries: knn.cacheReusedEntries } } } : {}),
      };
    },
    async doStream(call): Promise<LanguageModelStreamResult> {
      const { ids, generation } = prepare(call);
      const release = await acquire(call);
      try {
        const knn = await knnCallProcessors(call, options.model, options.tokenizer, cacheBuilders);
        if (knn.processors.length > 0) generation.mixingProcessors = knn.processors;
      } catch (error) {
        release();
        throw error;
      }
      const iterator = streamGenerate(options.model, ids, generation);
      let outputTokens = 0;
      const stream = new ReadableStream<LanguageModelStreamPart>({
        async pull(controller) {
          try {
            for (;;) {
              await yieldToEventLoop();
              const next = await iterator.next();
              if (next.done) {
                controller.enqueue({
                  type: 'finish',
                  finishReason: finishReasons[next.value.finishReason],
                  usage: { inputTokens: ids.length, outputTokens },
                });
                controller.close();
                release();
                return;
              }
              outputTokens += 1;
              if (next.value.text) {
                controller.enqueue({ type: 'text-delta', delta: next.value.text });
                return;
              }
            }
          } catch (error) {
            controller.enqueue({ type: 'error', error });
            controller.close();
            release();
          }
        },
        async cancel() {
          try {
            await iterator.return(undefined as never);
          } finally {
            release();
          }
        },
      });
      return { stream };
    },
  };
}
