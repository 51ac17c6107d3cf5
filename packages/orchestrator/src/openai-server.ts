import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AbortedError,
  CodestackError,
  InvalidArgumentError,
  type LanguageModel,
  type LanguageModelCallOptions,
  type LanguageModelFinishReason,
  type LanguageModelMessage,
  type LanguageModelUsage,
} from '@codestack/core';
import { iterate } from './generate-text.js';
import { formatServerSentEvent } from './server-sent-events.js';

/** Options of {@link createOpenAIServer}. */
export interface OpenAIServerOptions {
  /** The model every request is served by. */
  model: LanguageModel;
  /** The id listed by `/v1/models` and echoed in responses. Defaults to `model.modelId`. */
  modelId?: string;
  /** When set, every request must send `Authorization: Bearer <apiKey>` (else 401). */
  apiKey?: string;
  /** The largest request body in bytes (else 413). Default 1 MiB. */
  maximumBodyBytes?: number;
  /** The largest `max_tokens` accepted. Default 4096. */
  maximumOutputTokens?: number;
}

/** A running OpenAI-compatible server. */
export interface OpenAIServer {
  /** The underlying Node HTTP server. */
  readonly server: Server;
  /** Starts listening; resolves with the bound port and the API root URL (`http://host:port/v1`). */
  listen(port?: number, host?: string): Promise<{ port: number; url: string }>;
  /** Stops accepting connections, ends open ones, and resolves when closed. */
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly param: string | null = null,
    readonly errorCode: string | null = null,
  ) {
    super(message);
  }
}

const openAIFinishReasons: Record<LanguageModelFinishReason, string> = {
  stop: 'stop',
  length: 'length',
  'content-filter': 'content_filter',
  error: 'stop',
  other: 'stop',
};

/**
 * Creates an OpenAI-compatible HTTP server over any {@link LanguageModel}: `GET /v1/models`,
 * `POST /v1/chat/completions` and `POST /v1/completions`, streaming (SSE ending in
 * `data: [DONE]`) and not, with a request size limit (413), an optional bearer token (401) and
 * OpenAI-style error JSON (`{ error: { message, type, param, code } }`). A client that
 * disconnects cancels its model call.
 */
export function createOpenAIServer(options: OpenAIServerOptions): OpenAIServer {
  const modelId = options.modelId ?? options.model.modelId;
  const maximumBodyBytes = options.maximumBodyBytes ?? 1024 * 1024;
  const maximumOutputTokens = options.maximumOutputTokens ?? 4096;
  const expectedKey = options.apiKey ? Buffer.from(`Bearer ${options.apiKey}`) : undefined;
  const created = Math.floor(Date.now() / 1000);

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const controller = new AbortController();
    response.on('close', () => {
      if (!response.writableFinished) controller.abort(new Error('the client disconnected'));
    });
    if (expectedKey) {
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length !== expectedKey.length || !timingSafeEqual(given, expectedKey)) {
        throw new HttpError(401, 'invalid_request_error', 'Incorrect or missing API key: send Authorization: Bearer <key>.', null, 'invalid_api_key');
      }
    }
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && path === '/v1/models') {
      sendJson(response, 200, { object: 'list', data: [{ id: modelId, object: 'model', created, owned_by: 'codestack' }] });
      return;
    }
    if (request.method === 'GET' && path === `/v1/models/${modelId}`) {
      sendJson(response, 200, { id: modelId, object: 'model', created, owned_by: 'codestack' });
      return;
    }
    const isChat = path === '/v1/chat/completions';
    if (!isChat && path !== '/v1/completions') {
      throw new HttpError(404, 'invalid_request_error', `Unknown route ${request.method} ${path}.`, null, 'unknown_url');
    }
    if (request.method !== 'POST') throw new HttpError(405, 'invalid_request_error', `Use POST for ${path}.`);
    const body = await readJsonBody(request, maximumBodyBytes);
    const callOptions = toCallOptions(body, isChat, maximumOutputTokens);
    callOptions.abortSignal = controller.signal;
    const id = `${isChat ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
    const stamp = Math.floor(Date.now() / 1000);
    const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;

    if (body.stream !== true) {
      const result = await options.model.doGenerate(callOptions);
      const finish = openAIFinishReasons[result.finishReason];
      sendJson(response, 200, {
        id,
        object: isChat ? 'chat.completion' : 'text_completion',
        created: stamp,
        model: modelId,
        choices: [
          isChat
            ? { index: 0, message: { role: 'assistant', content: result.text }, logprobs: null, finish_reason: finish }
            : { index: 0, text: result.text, logprobs: null, finish_reason: finish },
        ],
        usage: toOpenAIUsage(result.usage),
      });
      return;
    }

    const { stream } = await options.model.doStream(callOptions);
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const chunk = (choice: Record<string, unknown> | undefined, usage?: LanguageModelUsage): string =>
      formatServerSentEvent(
        JSON.stringify({
          id,
          object: isChat ? 'chat.completion.chunk' : 'text_completion',
          created: stamp,
          model: modelId,
          choices: choice ? [choice] : [],
          ...(usage ? { usage: toOpenAIUsage(usage) } : {}),
        }),
      );
    if (isChat) response.write(chunk({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }));
    for await (const part of iterate(stream)) {
      if (part.type === 'text-delta') {
        response.write(
          chunk(isChat ? { index: 0, delta: { content: part.delta }, logprobs: null, finish_reason: null } : { index: 0, text: part.delta, logprobs: null, finish_reason: null }),
        );
      } else if (part.type === 'finish') {
        const finish = openAIFinishReasons[part.finishReason];
        response.write(chunk(isChat ? { index: 0, delta: {}, logprobs: null, finish_reason: finish } : { index: 0, text: '', logprobs: null, finish_reason: finish }));
        if (includeUsage) response.write(chunk(undefined, part.usage));
      } else {
        const message = part.error instanceof Error ? part.error.message : String(part.error);
        response.write(formatServerSentEvent(JSON.stringify({ error: { message, type: 'server_error', param: null, code: null } })));
        break;
      }
    }
    response.end(formatServerSentEvent('[DONE]'));
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const httpError = toHttpError(error);
      sendJson(response, httpError.status, {
        error: { message: httpError.message, type: httpError.type, param: httpError.param, code: httpError.errorCode },
      });
      // A 413 leaves the rest of the body unread: close rather than drain it.
      if (httpError.status === 413) response.on('finish', () => request.destroy());
    });
  });

  return {
    server,
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve({ port: address.port, url: `http://${shownHost}:${address.port}/v1` });
        });
      });
    },
    close() {
      return new Promise((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (InvalidArgumentError.isInstance(error)) return new HttpError(400, 'invalid_request_error', error.message, error.argument, error.code);
  if (AbortedError.isInstance(error)) return new HttpError(499, 'invalid_request_error', error.message, null, error.code);
  if (CodestackError.isInstance(error)) return new HttpError(500, 'server_error', error.message, null, error.code);
  return new HttpError(500, 'server_error', 'The model failed.', null, null);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

async function readJsonBody(request: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const declared = Number(request.headers['content-length']);
  const tooLarge = (): HttpError =>
    new HttpError(413, 'invalid_request_error', `The request body exceeds ${limit} bytes.`, null, 'request_too_large');
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'invalid_request_error', 'The request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HttpError(400, 'invalid_request_error', 'The request body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

function toCallOptions(body: Record<string, unknown>, isChat: boolean, maximumOutputTokens: number): LanguageModelCallOptions {
  const invalid = (param: string, message: string): HttpError => new HttpError(400, 'invalid_request_error', message, param, 'invalid_value');
  let prompt: LanguageModelCallOptions['prompt'];
  if (isChat) {
    if (!Array.isArray(body.messages) || body.messages.length === 0) throw invalid('messages', "'messages' must be a non-empty array.");
    prompt = body.messages.map((message: unknown, index): LanguageModelMessage => {
      const { role, content } = (message ?? {}) as { role?: unknown; content?: unknown };
      const mappedRole = role === 'developer' ? 'system' : role;
      if (mappedRole !== 'system' && mappedRole !== 'user' && mappedRole !== 'assistant') {
        throw invalid(`messages[${index}].role`, `messages[${index}].role must be system, developer, user or assistant.`);
      }
      let text: string;
      if (typeof content === 'string') text = content;
      else if (Array.isArray(content)) {
        text = content
          .map((part: unknown) => {
            const typed = part as { type?: unknown; text?: unknown };
            if (typed?.type !== 'text' || typeof typed.text !== 'string') {
              throw invalid(`messages[${index}].content`, 'only text content parts are supported.');
            }
            return typed.text;
          })
          .join('');
      } else throw invalid(`messages[${index}].content`, `messages[${index}].content must be a string or text parts.`);
      return { role: mappedRole, content: text };
    });
  } else {
    const raw = Array.isArray(body.prompt) && body.prompt.length === 1 ? body.prompt[0] : body.prompt;
    if (typeof raw !== 'string') throw invalid('prompt', "'prompt' must be a string (or an array of exactly one string).");
    prompt = raw;
  }
  const options: LanguageModelCallOptions = { prompt };
  const tokens = body.max_completion_tokens ?? body.max_tokens;
  if (tokens !== undefined && tokens !== null) {
    if (!Number.isInteger(tokens) || (tokens as number) < 1 || (tokens as number) > maximumOutputTokens) {
      throw invalid('max_tokens', `'max_tokens' must be an integer in [1, ${maximumOutputTokens}].`);
    }
    options.maximumOutputTokens = tokens as number;
  }
  const number = (name: string, minimum: number, maximum: number): number | undefined => {
    const value = body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < minimum || value > maximum) {
      throw invalid(name, `'${name}' must be a number in [${minimum}, ${maximum}].`);
    }
    return value;
  };
  options.temperature = number('temperature', 0, 2);
  options.topP = number('top_p', 0, 1);
  options.topK = number('top_k', 0, 1e6);
  options.seed = number('seed', -(2 ** 53), 2 ** 53);
  if (body.stop !== undefined && body.stop !== null) {
    const stop = typeof body.stop === 'string' ? [body.stop] : body.stop;
    if (!Array.isArray(stop) || !stop.every((item) => typeof item === 'string')) throw invalid('stop', "'stop' must be a string or an array of strings.");
    options.stopSequences = stop;
  }
  if (!isChat && typeof body.suffix === 'string') options.providerOptions = { codestack: { suffix: body.suffix } };
  return options;
}

function toOpenAIUsage(usage: LanguageModelUsage): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const input = usage.inputTokens ?? 0;
  const output = usage.outputTokens ?? 0;
  return { prompt_tokens: input, completion_tokens: output, total_tokens: input + output };
}
