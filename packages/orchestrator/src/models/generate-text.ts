import type {
  LanguageModel,
  LanguageModelCallOptions,
  LanguageModelFinishReason,
  LanguageModelStreamPart,
  LanguageModelUsage,
} from '@codestack/core';
import { ModelCallError } from './model-call-error.js';

/** Options of {@link generateText} and {@link streamText}: a model and the call options. */
export type GenerateTextOptions = LanguageModelCallOptions & {
  /** The model to call. */
  model: LanguageModel;
};

/** What {@link generateText} returns. */
export interface GenerateTextResult {
  /** The generated text. */
  text: string;
  /** Why generation stopped. */
  finishReason: LanguageModelFinishReason;
  /** Token counts. */
  usage: LanguageModelUsage;
}

/** What {@link streamText} returns. Read `textStream` or `fullStream` (either, once); the promises settle either way. */
export interface StreamTextResult {
  /** Only the text deltas. */
  textStream: AsyncIterable<string>;
  /** Every stream part. */
  fullStream: AsyncIterable<LanguageModelStreamPart>;
  /** The whole text, once the stream ends. */
  text: Promise<string>;
  /** Why generation stopped. */
  finishReason: Promise<LanguageModelFinishReason>;
  /** Token counts. */
  usage: Promise<LanguageModelUsage>;
}

function callOptions(options: GenerateTextOptions): LanguageModelCallOptions {
  const { model: _model, ...rest } = options;
  return rest;
}

/** Generates a whole answer: a friendly wrapper over `model.doGenerate`. */
export async function generateText(options: GenerateTextOptions): Promise<GenerateTextResult> {
  const result = await options.model.doGenerate(callOptions(options));
  return { text: result.text, finishReason: result.finishReason, usage: result.usage };
}

/** Streams an answer: a friendly wrapper over `model.doStream`. */
export async function streamText(options: GenerateTextOptions): Promise<StreamTextResult> {
  const { stream } = await options.model.doStream(callOptions(options));
  const [forCaller, forSummary] = stream.tee();
  const [forFull, forText] = forCaller.tee();
  const summary = (async () => {
    let text = '';
    let finishReason: LanguageModelFinishReason = 'other';
    let usage: LanguageModelUsage = { inputTokens: undefined, outputTokens: undefined };
    for await (const part of iterate(forSummary)) {
      if (part.type === 'text-delta') text += part.delta;
      else if (part.type === 'finish') ({ finishReason, usage } = part);
      else throw wrapStreamError(part.error);
    }
    return { text, finishReason, usage };
  })();
  // The caller may read only the streams: keep the promises it never awaits from surfacing as
  // unhandled rejections (they still reject for callers who do await them).
  const settled = <T>(promise: Promise<T>): Promise<T> => {
    promise.catch(() => undefined);
    return promise;
  };
  return {
    fullStream: iterate(forFull),
    textStream: textDeltas(forText),
    text: settled(summary.then((value) => value.text)),
    finishReason: settled(summary.then((value) => value.finishReason)),
    usage: settled(summary.then((value) => value.usage)),
  };
}

async function* textDeltas(stream: ReadableStream<LanguageModelStreamPart>): AsyncGenerator<string> {
  for await (const part of iterate(stream)) {
    if (part.type === 'text-delta') yield part.delta;
    else if (part.type === 'error') throw wrapStreamError(part.error);
  }
}

/** Iterates a web `ReadableStream` (Node 20's streams are async-iterable, but not in the DOM types). */
export async function* iterate<T>(stream: ReadableStream<T>): AsyncGenerator<T> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

function wrapStreamError(error: unknown): Error {
  if (error instanceof Error) return error;
  return new ModelCallError({ message: `the model stream failed: ${String(error)}`, retryable: false, cause: error });
}
