import { CodestackError, InvalidArgumentError, type LanguageModelCallOptions, type LanguageModelMessage } from '@codestack/core';

/** OpenAI allows up to 4 stop sequences. */
export const maximumStopSequences = 4;
/** The longest stop sequence accepted, in characters. */
export const maximumStopSequenceLength = 256;

/**
 * A request the OpenAI-compatible server refuses, answered as OpenAI error JSON
 * (`{ error: { message, type, param, code } }`) with HTTP `status`. Its `code` is OpenAI's error
 * code (such as `model_not_found`), or `HTTP_ERROR` when OpenAI has none for it.
 */
export class OpenAIRequestError extends CodestackError {
  /** The HTTP status, such as 400, 404 or 413. */
  readonly status: number;
  /** OpenAI's error type, such as `invalid_request_error`. */
  readonly type: string;
  /** The request field at fault, or `null`. */
  readonly param: string | null;
  /** OpenAI's error code sent to the client, or `null`. */
  readonly openAICode: string | null;

  constructor({ status, type, message, param = null, code = null }: { status: number; type: string; message: string; param?: string | null; code?: string | null }) {
    super({ code: code ?? 'HTTP_ERROR', message });
    this.name = 'OpenAIRequestError';
    this.status = status;
    this.type = type;
    this.param = param;
    this.openAICode = code;
  }
}

/** The limits a completion request is checked against. */
export interface CompletionRequestLimits {
  /** The id of the served base model. */
  modelId: string;
  /**
   * The ids of the adapters served beside it (each also answers as `<modelId>:<id>`); any other
   * `model` is answered 404 `model_not_found`.
   */
  adapterIds?: readonly string[];
  /** The most output tokens the served model can produce in one call. */
  maxOutputTokens: number;
  /** The most chat messages in one request. */
  maximumMessages: number;
}

/** A checked completion request. */
export interface CompletionRequest {
  /** The model call it becomes. */
  callOptions: LanguageModelCallOptions;
  /** The served id the request asked for, as the response echoes it. */
  model: string;
  /** The adapter id it picked (`model` or `<base>:<adapter>`), or `undefined` for the base model. */
  adapterId: string | undefined;
  /** Whether the answer is streamed. */
  stream: boolean;
  /** Whether a streamed answer ends with a usage chunk. */
  includeUsage: boolean;
  /** The request's field that set the output token limit (`max_tokens` or `max_completion_tokens`). */
  outputTokensField: 'max_tokens' | 'max_completion_tokens';
}

const invalid = (param: string, message: string, code = 'invalid_value'): OpenAIRequestError =>
  new OpenAIRequestError({ status: 400, type: 'invalid_request_error', message, param, code });

/**
 * Checks a parsed `/v1/chat/completions` (`isChat`) or `/v1/completions` body and turns it into a
 * model call: `model` must name the served model (else 404), `n` must be 1, `stop` holds at most
 * {@link maximumStopSequences} strings of at most {@link maximumStopSequenceLength} characters,
 * `messages` at most `limits.maximumMessages`, and `max_tokens` / `max_completion_tokens` at most
 * the model's own limit; every refusal is a 400 naming the request's field.
 * @throws OpenAIRequestError for an invalid request.
 */
export function parseCompletionRequest(body: Record<string, unknown>, isChat: boolean, limits: CompletionRequestLimits): CompletionRequest {
  if (typeof body.model !== 'string' || body.model === '') throw invalid('model', "'model' must name the model, such as " + JSON.stringify(limits.modelId) + '.', 'missing_required_parameter');
  const adapterId = resolveAdapterId(body.model, limits);
  if (body.model !== limits.modelId && adapterId === undefined) {
    const served = [limits.modelId, ...(limits.adapterIds ?? [])].slice(0, 20).map((id) => JSON.stringify(id));
    throw new OpenAIRequestError({
      status: 404,
      type: 'invalid_request_error',
      message: `The model ${JSON.stringify(body.model.slice(0, 200))} does not exist; this server serves ${served.join(', ')}.`,
      param: 'model',
      code: 'model_not_found',
    });
  }
  if (body.n !== undefined && body.n !== null && body.n !== 1) {
    throw invalid('n', "'n' must be 1: this server returns one choice per request.", 'unsupported_value');
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') throw invalid('stream', "'stream' must be a boolean.");
  let prompt: LanguageModelCallOptions['prompt'];
  if (isChat) {
    if (!Array.isArray(body.messages) || body.messages.length === 0) throw invalid('messages', "'messages' must be a non-empty array.");
    if (body.messages.length > limits.maximumMessages) throw invalid('messages', `'messages' holds ${body.messages.length} messages; at most ${limits.maximumMessages} are accepted.`);
    prompt = body.messages.map((message: unknown, index): LanguageModelMessage => parseMessage(message, index));
  } else {
    const raw = Array.isArray(body.prompt) && body.prompt.length === 1 ? body.prompt[0] : body.prompt;
    if (typeof raw !== 'string') throw invalid('prompt', "'prompt' must be a string (or an array of exactly one string).");
    prompt = raw;
  }
  const callOptions: LanguageModelCallOptions = { prompt };
  let outputTokensField: CompletionRequest['outputTokensField'] = 'max_tokens';
  for (const field of ['max_tokens', 'max_completion_tokens'] as const) {
    const tokens = body[field];
    if (tokens === undefined || tokens === null) continue;
    if (typeof tokens !== 'number' || !Number.isInteger(tokens) || tokens < 1 || tokens > limits.maxOutputTokens) {
      throw invalid(field, `'${field}' must be an integer in [1, ${limits.maxOutputTokens}] for model ${limits.modelId}, got ${JSON.stringify(tokens)}.`);
    }
    callOptions.maxOutputTokens = tokens;
    outputTokensField = field;
  }
  const number = (name: string, minimum: number, maximum: number): number | undefined => {
    const value = body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < minimum || value > maximum) {
      throw invalid(name, `'${name}' must be a number in [${minimum}, ${maximum}].`);
    }
    return value;
  };
  const assign = <Key extends 'temperature' | 'topP' | 'topK' | 'seed'>(key: Key, value: number | undefined): void => {
    if (value !== undefined) callOptions[key] = value;
  };
  assign('temperature', number('temperature', 0, 2));
  assign('topP', number('top_p', 0, 1));
  assign('topK', number('top_k', 0, 1e6));
  assign('seed', number('seed', -(2 ** 53), 2 ** 53));
  if (body.stop !== undefined && body.stop !== null) {
    const stop = typeof body.stop === 'string' ? [body.stop] : body.stop;
    if (!Array.isArray(stop) || !stop.every((item) => typeof item === 'string')) throw invalid('stop', "'stop' must be a string or an array of strings.");
    if (stop.length > maximumStopSequences) throw invalid('stop', `'stop' holds ${stop.length} sequences; at most ${maximumStopSequences} are accepted.`);
    if (stop.some((item) => item.length === 0 || item.length > maximumStopSequenceLength)) {
      throw invalid('stop', `every 'stop' sequence must have 1 to ${maximumStopSequenceLength} characters.`);
    }
    if (stop.length > 0) callOptions.stopSequences = stop;
  }
  if (!isChat && body.suffix !== undefined && body.suffix !== null) {
    if (typeof body.suffix !== 'string') throw invalid('suffix', "'suffix' must be a string.");
    callOptions.providerOptions = { codestack: { suffix: body.suffix } };
  }
  const streamOptions = body.stream_options as { include_usage?: unknown } | undefined | null;
  return { callOptions, model: body.model, adapterId, stream: body.stream === true, includeUsage: streamOptions?.include_usage === true, outputTokensField };
}

/** The adapter id `model` names: an adapter id itself, or `<base id>:<adapter id>`. */
function resolveAdapterId(model: string, limits: CompletionRequestLimits): string | undefined {
  const adapterIds = limits.adapterIds ?? [];
  if (model !== limits.modelId && adapterIds.includes(model)) return model;
  const prefix = `${limits.modelId}:`;
  if (model.startsWith(prefix) && adapterIds.includes(model.slice(prefix.length))) return model.slice(prefix.length);
  return undefined;
}

function parseMessage(message: unknown, index: number): LanguageModelMessage {
  const { role, content } = (typeof message === 'object' && message !== null ? message : {}) as { role?: unknown; content?: unknown };
  const mappedRole = role === 'developer' ? 'system' : role;
  if (mappedRole !== 'system' && mappedRole !== 'user' && mappedRole !== 'assistant') {
    throw invalid(`messages[${index}].role`, `messages[${index}].role must be system, developer, user or assistant.`);
  }
  let text: string;
  if (typeof content === 'string') text = content;
  else if (Array.isArray(content)) {
    text = content
      .map((part: unknown) => {
        const typed = part as { type?: unknown; text?: unknown } | null;
        if (typed?.type !== 'text' || typeof typed.text !== 'string') throw invalid(`messages[${index}].content`, 'only text content parts are supported.');
        return typed.text;
      })
      .join('');
  } else throw invalid(`messages[${index}].content`, `messages[${index}].content must be a string or text parts.`);
  return { role: mappedRole, content: text };
}

/** The request field behind each model call option, for errors the model raises about an option. */
const requestFieldOfArgument: Record<string, string> = {
  temperature: 'temperature',
  topP: 'top_p',
  topK: 'top_k',
  seed: 'seed',
  stopSequences: 'stop',
  'providerOptions.codestack.suffix': 'suffix',
};

/**
 * Renames a model's `InvalidArgumentError` about a call option to a 400 naming the request's own
 * field (`maxOutputTokens` becomes `max_tokens` or `max_completion_tokens`, `prompt` becomes
 * `messages` or `prompt`); other errors pass through unchanged.
 */
export function toRequestError(error: unknown, request: Pick<CompletionRequest, 'outputTokensField'>, isChat: boolean): unknown {
  if (!InvalidArgumentError.isInstance(error)) return error;
  const field =
    error.argument === 'maxOutputTokens'
      ? request.outputTokensField
      : error.argument === 'prompt'
        ? isChat
          ? 'messages'
          : 'prompt'
        : requestFieldOfArgument[error.argument];
  if (field === undefined) return error;
  const detail = error.message.replace(/^[^:]*: /, '');
  return new OpenAIRequestError({ status: 400, type: 'invalid_request_error', message: `'${field}' ${detail}`, param: field, code: 'invalid_value' });
}
