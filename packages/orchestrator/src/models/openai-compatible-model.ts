import {
  AbortedError,
  InvalidArgumentError,
  type LanguageModel,
  type LanguageModelCallOptions,
  type LanguageModelFinishReason,
  type LanguageModelGenerateResult,
  type LanguageModelMessage,
  type LanguageModelStreamPart,
  type LanguageModelStreamResult,
  type LanguageModelUsage,
} from '@codestack/core';
import { ModelCallError } from './model-call-error.js';
import { parseServerSentEvents } from './server-sent-events.js';

/** Options of {@link OpenAICompatibleModel}. */
export interface OpenAICompatibleModelOptions {
  /** The API root, such as `http://127.0.0.1:8080/v1`. */
  baseURL: string;
  /** The model name sent in every request. */
  modelId: string;
  /** Sent as `Authorization: Bearer <apiKey>` when given. */
  apiKey?: string;
  /**
   * Which endpoint to call: `chat` (`/chat/completions`), `completions` (`/completions`), or
   * `auto` (default): chat for message prompts, completions for text prompts.
   */
  endpoint?: 'auto' | 'chat' | 'completions';
  /** Per-attempt timeout in milliseconds, covering the whole request including a streamed body. Default 60000. */
  timeoutMilliseconds?: number;
  /** Retries after a 429, a 5xx, a network error or a timeout. Default 2. */
  maximumRetries?: number;
  /** The first backoff delay in milliseconds; it doubles per retry. `Retry-After` wins when sent. Default 500. */
  initialBackoffMilliseconds?: number;
  /** The longest wait between attempts, in milliseconds. Default 30000. */
  maximumBackoffMilliseconds?: number;
  /** Extra headers. */
  headers?: Record<string, string>;
  /** The fetch implementation; defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

const finishReasons: Record<string, LanguageModelFinishReason> = {
  stop: 'stop',
  length: 'length',
  content_filter: 'content-filter',
  tool_calls: 'other',
  function_call: 'other',
};

/**
 * A {@link LanguageModel} over any OpenAI-compatible HTTP endpoint (OpenAI, vLLM, llama.cpp,
 * `codestack serve`), with SSE streaming, timeouts, retries with exponential backoff on 429 and
 * 5xx that honour `Retry-After`, and cancellation through the call's `abortSignal`. It uses
 * `fetch` directly.
 */
export class OpenAICompatibleModel implements LanguageModel {
  /** The contract version. */
  readonly specificationVersion = 'codestack-v1' as const;
  /** Always `openai-compatible`. */
  readonly provider = 'openai-compatible';
  /** The model name sent in requests. */
  readonly modelId: string;
  private readonly options: Required<Omit<OpenAICompatibleModelOptions, 'apiKey' | 'headers' | 'fetch'>> &
    Pick<OpenAICompatibleModelOptions, 'apiKey' | 'headers'>;
  private readonly fetchImplementation: typeof fetch;

  constructor(options: OpenAICompatibleModelOptions) {
    let url: URL;
    try {
      url = new URL(options.baseURL);
    } catch (error) {
      throw new InvalidArgumentError({ argument: 'baseURL', message: `'${options.baseURL}' is not a URL`, cause: error });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new InvalidArgumentError({ argument: 'baseURL', message: 'must be an http or https URL' });
    }
    if (!options.modelId) throw new InvalidArgumentError({ argument: 'modelId', message: 'must be a non-empty string' });
    this.modelId = options.modelId;
    this.options = {
      baseURL: options.baseURL.replace(/\/+$/, ''),
      modelId: options.modelId,
      apiKey: options.apiKey,
      endpoint: options.endpoint ?? 'auto',
      timeoutMilliseconds: options.timeoutMilliseconds ?? 60000,
      maximumRetries: options.maximumRetries ?? 2,
      initialBackoffMilliseconds: options.initialBackoffMilliseconds ?? 500,
      maximumBackoffMilliseconds: options.maximumBackoffMilliseconds ?? 30000,
      headers: options.headers,
    };
    this.fetchImplementation = options.fetch ?? fetch;
  }

  /** Generates a whole answer with one non-streaming request. */
  async doGenerate(options: LanguageModelCallOptions): Promise<LanguageModelGenerateResult> {
    const { endpoint, body } = this.requestBody(options, false);
    const response = await this.send(endpoint, body, options.abortSignal);
    let json: OpenAIResponse;
    try {
      json = (await response.json()) as OpenAIResponse;
    } catch (error) {
      if (options.abortSignal?.aborted) throw new AbortedError({ operation: 'model call', cause: error });
      throw new ModelCallError({ message: 'the endpoint sent a body that is not JSON', retryable: false, cause: error });
    }
    const choice = json.choices?.[0];
    if (!choice) throw new ModelCallError({ message: 'the endpoint sent no choices', retryable: false });
    const text = endpoint === 'chat' ? (choice.message?.content ?? '') : (choice.text ?? '');
    return {
      text,
      finishReason: finishReasons[choice.finish_reason ?? ''] ?? 'other',
      usage: toUsage(json.usage),
      providerMetadata: { 'openai-compatible': { id: json.id } },
    };
  }

  /** Streams an answer over server-sent events. */
  async doStream(options: LanguageModelCallOptions): Promise<LanguageModelStreamResult> {
    const { endpoint, body } = this.requestBody(options, true);
    const response = await this.send(endpoint, body, options.abortSignal);
    const responseBody = response.body;
    if (!responseBody) throw new ModelCallError({ message: 'the endpoint sent no stream body', retryable: false });
    const events = parseServerSentEvents(responseBody);
    let finishReason: LanguageModelFinishReason = 'other';
    let usage: LanguageModelUsage = { inputTokens: undefined, outputTokens: undefined };
    const stream = new ReadableStream<LanguageModelStreamPart>({
      async pull(controller) {
        try {
          for (;;) {
            const next = await events.next();
            if (next.done || next.value === '[DONE]') {
              controller.enqueue({ type: 'finish', finishReason, usage });
              controller.close();
              return;
            }
            const chunk = JSON.parse(next.value) as OpenAIResponse & { error?: { message?: string } };
            if (chunk.error) {
              throw new ModelCallError({ message: `the endpoint failed mid-stream: ${chunk.error.message ?? 'unknown error'}`, retryable: false });
            }
            if (chunk.usage) usage = toUsage(chunk.usage);
            const choice = chunk.choices?.[0];
            if (choice?.finish_reason) finishReason = finishReasons[choice.finish_reason] ?? 'other';
            const delta = endpoint === 'chat' ? choice?.delta?.content : choice?.text;
            if (delta) {
              controller.enqueue({ type: 'text-delta', delta });
              return;
            }
          }
        } catch (error) {
          const wrapped = options.abortSignal?.aborted
            ? new AbortedError({ operation: 'model stream', cause: error })
            : ModelCallError.isInstance(error)
              ? error
              : new ModelCallError({ message: 'the stream broke off or sent a malformed chunk', retryable: false, cause: error });
          controller.enqueue({ type: 'error', error: wrapped });
          controller.close();
        }
      },
      async cancel() {
        await events.return(undefined);
      },
    });
    return { stream };
  }

  private requestBody(options: LanguageModelCallOptions, stream: boolean): { endpoint: 'chat' | 'completions'; body: Record<string, unknown> } {
    const endpoint =
      this.options.endpoint === 'auto' ? (typeof options.prompt === 'string' ? 'completions' : 'chat') : this.options.endpoint;
    const body: Record<string, unknown> = { model: this.modelId, stream };
    if (endpoint === 'chat') {
      body.messages = typeof options.prompt === 'string' ? [{ role: 'user', content: options.prompt }] : options.prompt;
    } else {
      body.prompt = typeof options.prompt === 'string' ? options.prompt : renderMessagesAsText(options.prompt);
    }
    if (stream) body.stream_options = { include_usage: true };
    if (options.maxOutputTokens !== undefined) body.max_tokens = options.maxOutputTokens;
    if (options.temperature !== undefined) body.temperature = options.temperature;
    if (options.topP !== undefined) body.top_p = options.topP;
    if (options.topK !== undefined) body.top_k = options.topK;
    if (options.seed !== undefined) body.seed = options.seed;
    if (options.stopSequences?.length) body.stop = options.stopSequences;
    const extra = options.providerOptions?.['openai-compatible'];
    if (extra) Object.assign(body, extra);
    return { endpoint, body };
  }

  private async send(endpoint: 'chat' | 'completions', body: Record<string, unknown>, signal: AbortSignal | undefined): Promise<Response> {
    const url = `${this.options.baseURL}/${endpoint === 'chat' ? 'chat/completions' : 'completions'}`;
    const headers: Record<string, string> = { 'content-type': 'application/json', ...this.options.headers };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    let lastError: ModelCallError | undefined;
    for (let attempt = 0; attempt <= this.options.maximumRetries; attempt += 1) {
      if (signal?.aborted) throw new AbortedError({ operation: 'model call', cause: signal.reason });
      const timeout = AbortSignal.timeout(this.options.timeoutMilliseconds);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let retryAfter: number | undefined;
      try {
        const response = await this.fetchImplementation(url, { method: 'POST', headers, body: JSON.stringify(body), signal: combined });
        if (response.ok) return response;
        const detail = await response.text().catch(() => '');
        const retryable = response.status === 429 || response.status >= 500;
        lastError = new ModelCallError({
          message: `${url} answered ${response.status}: ${errorMessage(detail)}`,
          status: response.status,
          retryable,
        });
        if (!retryable) throw lastError;
        retryAfter = parseRetryAfter(response.headers.get('retry-after'));
      } catch (error) {
        if (signal?.aborted) throw new AbortedError({ operation: 'model call', cause: signal.reason });
        if (ModelCallError.isInstance(error)) throw error;
        lastError = new ModelCallError({
          message: timeout.aborted
            ? `${url} did not answer within ${this.options.timeoutMilliseconds} ms`
            : `${url} could not be reached: ${error instanceof Error ? error.message : String(error)}`,
          retryable: true,
          cause: error,
        });
      }
      if (attempt === this.options.maximumRetries) break;
      const backoff = this.options.initialBackoffMilliseconds * 2 ** attempt * (0.8 + Math.random() * 0.4);
      await sleep(Math.min(retryAfter ?? backoff, this.options.maximumBackoffMilliseconds), signal);
    }
    throw lastError ?? new ModelCallError({ message: `${url} failed`, retryable: true });
  }
}

interface OpenAIResponse {
  id?: string;
  choices?: {
    text?: string;
    message?: { content?: string | null };
    delta?: { content?: string | null };
    finish_reason?: string | null;
  }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
}

function toUsage(usage: OpenAIResponse['usage']): LanguageModelUsage {
  return { inputTokens: usage?.prompt_tokens ?? undefined, outputTokens: usage?.completion_tokens ?? undefined };
}

function errorMessage(detail: string): string {
  try {
    const parsed = JSON.parse(detail) as { error?: { message?: string } };
    if (parsed.error?.message) return parsed.error.message;
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return detail.slice(0, 300) || '(empty body)';
}

/** `Retry-After` as milliseconds: delay-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Renders chat messages as plain text for a completions endpoint. */
export function renderMessagesAsText(messages: readonly LanguageModelMessage[]): string {
  return `${messages.map((message) => `${message.role}: ${message.content}`).join('\n\n')}\n\nassistant:`;
}

function sleep(milliseconds: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, milliseconds);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortedError({ operation: 'model call', cause: signal?.reason }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
