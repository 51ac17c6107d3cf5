import type { LanguageModel, LanguageModelCallOptions, LanguageModelGenerateResult, LanguageModelStreamResult } from '@codestack/core';

/**
 * A language-model middleware (the AI SDK's shape): it may rewrite the call options, and wrap
 * the generate and stream calls. Every member is optional.
 */
export interface LanguageModelMiddleware {
  /** Rewrites the call options before the (inner) model sees them. */
  transformParams?(args: { type: 'generate' | 'stream'; params: LanguageModelCallOptions; model: LanguageModel }): Promise<LanguageModelCallOptions>;
  /** Wraps a generate call; call `doGenerate` to reach the inner model (or don't, to answer from elsewhere). */
  wrapGenerate?(args: {
    doGenerate: () => Promise<LanguageModelGenerateResult>;
    params: LanguageModelCallOptions;
    model: LanguageModel;
  }): Promise<LanguageModelGenerateResult>;
  /** Wraps a stream call. */
  wrapStream?(args: {
    doStream: () => Promise<LanguageModelStreamResult>;
    params: LanguageModelCallOptions;
    model: LanguageModel;
  }): Promise<LanguageModelStreamResult>;
}

/**
 * Wraps a model in middleware. With a list, the first middleware is the outermost: it sees the
 * call options first and the result last.
 */
export function wrapLanguageModel({
  model,
  middleware,
}: {
  model: LanguageModel;
  middleware: LanguageModelMiddleware | readonly LanguageModelMiddleware[];
}): LanguageModel {
  const list = Array.isArray(middleware) ? [...(middleware as readonly LanguageModelMiddleware[])] : [middleware as LanguageModelMiddleware];
  return list.reverse().reduce<LanguageModel>((inner, layer) => wrapOne(inner, layer), model);
}

function wrapOne(inner: LanguageModel, layer: LanguageModelMiddleware): LanguageModel {
  return {
    specificationVersion: inner.specificationVersion,
    provider: inner.provider,
    modelId: inner.modelId,
    // A wrapped model keeps the limits and tokenizer it reports, so defaults still derive from them.
    ...(inner.contextTokens === undefined ? {} : { contextTokens: inner.contextTokens }),
    ...(inner.maxOutputTokens === undefined ? {} : { maxOutputTokens: inner.maxOutputTokens }),
    ...(inner.endOfSequenceIds === undefined ? {} : { endOfSequenceIds: inner.endOfSequenceIds }),
    ...(inner.tokenizer === undefined ? {} : { tokenizer: inner.tokenizer }),
    ...(inner.countPromptTokens === undefined ? {} : { countPromptTokens: inner.countPromptTokens.bind(inner) }),
    async doGenerate(options) {
      const params = layer.transformParams ? await layer.transformParams({ type: 'generate', params: options, model: inner }) : options;
      const doGenerate = (): Promise<LanguageModelGenerateResult> => inner.doGenerate(params);
      return layer.wrapGenerate ? layer.wrapGenerate({ doGenerate, params, model: inner }) : doGenerate();
    },
    async doStream(options) {
      const params = layer.transformParams ? await layer.transformParams({ type: 'stream', params: options, model: inner }) : options;
      const doStream = (): Promise<LanguageModelStreamResult> => inner.doStream(params);
      return layer.wrapStream ? layer.wrapStream({ doStream, params, model: inner }) : doStream();
    },
  };
}
