import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3FinishReason,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3Usage,
  SharedV3Warning,
} from '@ai-sdk/provider';
import type {
  LanguageModel,
  LanguageModelCallOptions,
  LanguageModelFinishReason,
  LanguageModelMessage,
  LanguageModelStreamPart,
  LanguageModelUsage,
} from '@codestack/core';
import { ModelCallError } from './model-call-error.js';

function toV3Usage(usage: LanguageModelUsage): LanguageModelV3Usage {
  return {
    inputTokens: { total: usage.inputTokens, noCache: usage.inputTokens, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: usage.outputTokens, text: usage.outputTokens, reasoning: undefined },
  };
}

function toV3FinishReason(reason: LanguageModelFinishReason): LanguageModelV3FinishReason {
  return { unified: reason, raw: reason };
}

function fromV3Prompt(prompt: LanguageModelV3Prompt, warnings: SharedV3Warning[]): LanguageModelMessage[] {
  const messages: LanguageModelMessage[] = [];
  for (const message of prompt) {
    if (message.role === 'system') {
      messages.push({ role: 'system', content: message.content });
      continue;
    }
    if (message.role === 'tool') {
      warnings.push({ type: 'unsupported', feature: 'tool messages', details: 'tool results are left out of the prompt' });
      continue;
    }
    let text = '';
    for (const part of message.content) {
      if (part.type === 'text') text += part.text;
      else warnings.push({ type: 'unsupported', feature: `${part.type} parts`, details: 'only text parts reach the model' });
    }
    messages.push({ role: message.role, content: text });
  }
  return messages;
}

function fromV3Options(options: LanguageModelV3CallOptions, warnings: SharedV3Warning[]): LanguageModelCallOptions {
  if (options.tools?.length) warnings.push({ type: 'unsupported', feature: 'tools' });
  if (options.responseFormat?.type === 'json') warnings.push({ type: 'unsupported', feature: 'responseFormat json' });
  for (const setting of ['presencePenalty', 'frequencyPenalty'] as const) {
    if (options[setting] !== undefined) warnings.push({ type: 'unsupported', feature: setting });
  }
  const call: LanguageModelCallOptions = { prompt: fromV3Prompt(options.prompt, warnings) };
  if (options.maxOutputTokens !== undefined) call.maxOutputTokens = options.maxOutputTokens;
  if (options.temperature !== undefined) call.temperature = options.temperature;
  if (options.topP !== undefined) call.topP = options.topP;
  if (options.topK !== undefined) call.topK = options.topK;
  if (options.seed !== undefined) call.seed = options.seed;
  if (options.stopSequences?.length) call.stopSequences = options.stopSequences;
  if (options.abortSignal) call.abortSignal = options.abortSignal;
  if (options.providerOptions) call.providerOptions = options.providerOptions as Record<string, Record<string, unknown>>;
  return call;
}

/**
 * Exposes a codestack {@link LanguageModel} (the local stack, a middleware-wrapped model, a
 * remote endpoint) as an AI SDK `LanguageModelV3`, so `generateText` and `streamText` of the
 * `ai` package work with it. Text parts pass through; tools, files and JSON response formats are
 * reported as `unsupported` warnings.
 */
export function toAISDKLanguageModel(model: LanguageModel): LanguageModelV3 {
  return {
    specificationVersion: 'v3',
    provider: model.provider,
    modelId: model.modelId,
    supportedUrls: {},
    async doGenerate(options) {
      const warnings: SharedV3Warning[] = [];
      const result = await model.doGenerate(fromV3Options(options, warnings));
      return {
        content: result.text ? [{ type: 'text', text: result.text }] : [],
        finishReason: toV3FinishReason(result.finishReason),
        usage: toV3Usage(result.usage),
        warnings,
        ...(result.providerMetadata ? { providerMetadata: result.providerMetadata as never } : {}),
      };
    },
    async doStream(options) {
      const warnings: SharedV3Warning[] = [];
      const { stream } = await model.doStream(fromV3Options(options, warnings));
      let started = false;
      const converter = new TransformStream<LanguageModelStreamPart, LanguageModelV3StreamPart>({
        start(controller) {
          controller.enqueue({ type: 'stream-start', warnings });
        },
        transform(part, controller) {
          if (part.type === 'text-delta') {
            if (!started) controller.enqueue({ type: 'text-start', id: '0' });
            started = true;
            controller.enqueue({ type: 'text-delta', id: '0', delta: part.delta });
          } else if (part.type === 'finish') {
            if (started) controller.enqueue({ type: 'text-end', id: '0' });
            controller.enqueue({ type: 'finish', finishReason: toV3FinishReason(part.finishReason), usage: toV3Usage(part.usage) });
          } else {
            controller.enqueue({ type: 'error', error: part.error });
          }
        },
      });
      return { stream: stream.pipeThrough(converter) };
    },
  };
}

function toV3Options(options: LanguageModelCallOptions): LanguageModelV3CallOptions {
  const messages = typeof options.prompt === 'string' ? [{ role: 'user' as const, content: options.prompt }] : options.prompt;
  const prompt: LanguageModelV3Prompt = messages.map((message) =>
    message.role === 'system' ? { role: 'system', content: message.content } : { role: message.role, content: [{ type: 'text', text: message.content }] },
  );
  const call: LanguageModelV3CallOptions = { prompt };
  if (options.maxOutputTokens !== undefined) call.maxOutputTokens = options.maxOutputTokens;
  if (options.temperature !== undefined) call.temperature = options.temperature;
  if (options.topP !== undefined) call.topP = options.topP;
  if (options.topK !== undefined) call.topK = options.topK;
  if (options.seed !== undefined) call.seed = options.seed;
  if (options.stopSequences?.length) call.stopSequences = [...options.stopSequences];
  if (options.abortSignal) call.abortSignal = options.abortSignal;
  if (options.providerOptions) call.providerOptions = options.providerOptions as never;
  return call;
}

function fromV3Usage(usage: LanguageModelV3Usage): LanguageModelUsage {
  return { inputTokens: usage.inputTokens.total, outputTokens: usage.outputTokens.total };
}

function fromV3FinishReason(reason: LanguageModelV3FinishReason): LanguageModelFinishReason {
  return reason.unified === 'tool-calls' ? 'other' : reason.unified;
}

/**
 * Accepts an AI SDK `LanguageModelV3` (any AI SDK provider's model) as a codestack
 * {@link LanguageModel}, so it can back the pipeline, the middleware and the server. Only text
 * content is used; a text prompt becomes one user message.
 */
export function fromAISDKLanguageModel(model: LanguageModelV3): LanguageModel {
  return {
    specificationVersion: 'codestack-v1',
    provider: model.provider,
    modelId: model.modelId,
    async doGenerate(options) {
      const result = await model.doGenerate(toV3Options(options));
      const text = result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
      return { text, finishReason: fromV3FinishReason(result.finishReason), usage: fromV3Usage(result.usage) };
    },
    async doStream(options) {
      const { stream } = await model.doStream(toV3Options(options));
      let finished = false;
      const converter = new TransformStream<LanguageModelV3StreamPart, LanguageModelStreamPart>({
        transform(part, controller) {
          if (part.type === 'text-delta') controller.enqueue({ type: 'text-delta', delta: part.delta });
          else if (part.type === 'finish') {
            finished = true;
            controller.enqueue({ type: 'finish', finishReason: fromV3FinishReason(part.finishReason), usage: fromV3Usage(part.usage) });
          } else if (part.type === 'error') controller.enqueue({ type: 'error', error: part.error });
        },
        flush(controller) {
          if (!finished) controller.enqueue({ type: 'error', error: new ModelCallError({ message: 'the AI SDK stream ended without a finish part', retryable: false }) });
        },
      });
      return { stream: stream.pipeThrough(converter) };
    },
  };
}
