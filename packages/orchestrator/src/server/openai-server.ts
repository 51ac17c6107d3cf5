import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AbortedError, CodestackError, InvalidArgumentError, type LanguageModel, type LanguageModelFinishReason, type LanguageModelUsage } from '@codestack/core';
import { iterate } from '../models/generate-text.js';
import { OpenAIRequestError, parseCompletionRequest, toRequestError } from './openai-server-request.js';
import { formatServerSentEvent } from '../models/server-sent-events.js';

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
  /**
   * The largest `max_tokens` / `max_completion_tokens` accepted. Defaults to the model's own limit
   * when it reports one (a local model's `maxOutputTokens`: its context window less one), else 4096.
   */
  maxOutputTokens?: number;
  /** The most chat messages in one request (else 400). Default 1024. */
  maximumMessages?: number;
  /**
   * Adapters served as model ids of their own, as vLLM's `--lora-modules name=path` does: served id
   * → the adapter name `model` knows (a local model's `AdapterSet` name, passed as
   * `providerOptions.codestack.adapter`), or `{ adapter, root }` where `root` (such as the adapter's
   * directory) is listed by `/v1/models`. A request whose `model` is such an id (or
   * `<modelId>:<id>`) runs that adapter; `/v1/models` lists each with `parent` = the base id.
   */
  adapters?: Readonly<Record<string, string | OpenAIServerAdapter>>;
}

/** One adapter served by {@link createOpenAIServer}. */
export interface OpenAIServerAdapter {
  /** The adapter's name on the model (`providerOptions.codestack.adapter`). Default: its served id. */
  adapter?: string;
  /** Where it came from (its directory), listed as `root` by `/v1/models`. Default: its served id. */
  root?: string;
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
 * OpenAI-style error JSON (`{ error: { message, type, param, code } }`). Requests are checked
 * by {@link parseCompletionRequest}: an unknown `model` is a 404 `model_not_found`, `n` other than 1,
 * more than 4 `stop` sequences or a `max_tokens` above the model's limit a 400 naming the field.
 * A client that disconnects aborts its model call (the local model stops decoding).
 * With `adapters`, each adapter is a model id of its own (vLLM's multi-LoRA serving): a request
 * names one and runs on it, swapped per request on the one base model (a local model with an
 * `AdapterSet` queues requests, so adapters of interleaved requests never mix).
 *
 * @example
 * const model = await loadLocalModel('./base', { adapters: { rxjs: './adapters/rxjs' } });
 * createOpenAIServer({ model, adapters: { rxjs: 'rxjs' } }).listen(8080);
 */
export function createOpenAIServer(options: OpenAIServerOptions): OpenAIServer {
  const modelId = options.modelId ?? options.model.modelId;
  const maximumBodyBytes = options.maximumBodyBytes ?? 1024 * 1024;
  const reported = (options.model as Partial<{ maxOutputTokens: unknown }>).maxOutputTokens;
  const maxOutputTokens = options.maxOutputTokens ?? (typeof reported === 'number' && Number.isInteger(reported) && reported > 0 ? reported : 4096);
  const maximumMessages = options.maximumMessages ?? 1024;
  const expectedKey = options.apiKey ? Buffer.from(`Bearer ${options.apiKey}`) : undefined;
  const created = Math.floor(Date.now() / 1000);
  const adapters = new Map<string, { adapter: string; root: string }>();
  for (const [id, entry] of Object.entries(options.adapters ?? {})) {
    if (id === '' || id === modelId) throw new InvalidArgumentError({ argument: 'adapters', message: `an adapter's id must be non-empty and differ from the base model's ${JSON.stringify(modelId)}, got ${JSON.stringify(id)}` });
    const adapter = typeof entry === 'string' ? entry : (entry.adapter ?? id);
    adapters.set(id, { adapter, root: typeof entry === 'string' ? id : (entry.root ?? id) });
  }
  const adapterIds = [...adapters.keys()];
  // vLLM's model cards: the base has `root` = itself and no parent; an adapter `parent` = the base.
  const modelCard = (id: string): Record<string, unknown> => {
    const adapter = adapters.get(id);
    return { id, object: 'model', created, owned_by: 'codestack', root: adapter ? adapter.root : modelId, parent: adapter ? modelId : null };
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const controller = new AbortController();
    const abortUnlessFinished = (): void => {
      if (!response.writableFinished) controller.abort(new AbortedError({ operation: 'the request', cause: new Error('the client disconnected') }));
    };
    request.on('close', () => {
      // 'close' on the request only means its body was read; the client is gone when the socket is.
      if (request.socket.destroyed) abortUnlessFinished();
    });
    response.on('close', abortUnlessFinished);
    if (expectedKey) {
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length !== expectedKey.length || !timingSafeEqual(given, expectedKey)) {
        throw new OpenAIRequestError({ status: 401, type: 'invalid_request_error', message: 'Incorrect or missing API key: send Authorization: Bearer <key>.', code: 'invalid_api_key' });
      }
    }
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && path === '/v1/models') {
      sendJson(response, 200, { object: 'list', data: [modelId, ...adapterIds].map(modelCard) });
      return;
    }
    if (request.method === 'GET' && path?.startsWith('/v1/models/')) {
      const asked = decodeURIComponent(path.slice('/v1/models/'.length));
      if (asked !== modelId && !adapters.has(asked)) {
        throw new OpenAIRequestError({ status: 404, type: 'invalid_request_error', message: `The model ${JSON.stringify(asked.slice(0, 200))} does not exist.`, param: 'model', code: 'model_not_found' });
      }
      sendJson(response, 200, modelCard(asked));
      return;
    }
    const isChat = path === '/v1/chat/completions';
    if (!isChat && path !== '/v1/completions') {
      throw new OpenAIRequestError({ status: 404, type: 'invalid_request_error', message: `Unknown route ${request.method} ${path}.`, code: 'unknown_url' });
    }
    if (request.method !== 'POST') throw new OpenAIRequestError({ status: 405, type: 'invalid_request_error', message: `Use POST for ${path}.` });
    const body = await readJsonBody(request, maximumBodyBytes);
    const parsed = parseCompletionRequest(body, isChat, { modelId, adapterIds, maxOutputTokens, maximumMessages });
    const { callOptions, includeUsage } = parsed;
    callOptions.abortSignal = controller.signal;
    if (parsed.adapterId !== undefined) {
      const codestack = { ...callOptions.providerOptions?.codestack, adapter: adapters.get(parsed.adapterId)!.adapter };
      callOptions.providerOptions = { ...callOptions.providerOptions, codestack };
    }
    const servedModel = parsed.model;
    const id = `${isChat ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
    const stamp = Math.floor(Date.now() / 1000);
    const callModel = async <Result>(call: () => Promise<Result>): Promise<Result> => {
      try {
        return await call();
      } catch (error) {
        throw toRequestError(error, parsed, isChat);
      }
    };

    if (!parsed.stream) {
      const result = await callModel(() => options.model.doGenerate(callOptions));
      const finish = openAIFinishReasons[result.finishReason];
      sendJson(response, 200, {
        id,
        object: isChat ? 'chat.completion' : 'text_completion',
        created: stamp,
        model: servedModel,
        choices: [
          isChat
            ? { index: 0, message: { role: 'assistant', content: result.text }, logprobs: null, finish_reason: finish }
            : { index: 0, text: result.text, logprobs: null, finish_reason: finish },
        ],
        usage: toOpenAIUsage(result.usage),
      });
      return;
    }

    const { stream } = await callModel(() => options.model.doStream(callOptions));
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const chunk = (choice: Record<string, unknown> | undefined, usage?: LanguageModelUsage): string =>
      formatServerSentEvent(
        JSON.stringify({
          id,
          object: isChat ? 'chat.completion.chunk' : 'text_completion',
          created: stamp,
          model: servedModel,
          choices: choice ? [choice] : [],
          ...(usage ? { usage: toOpenAIUsage(usage) } : {}),
        }),
      );
    if (isChat) response.write(chunk({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }));
    for await (const part of iterate(stream)) {
      // The client went away: stop reading, which cancels the model's stream.
      if (controller.signal.aborted) break;
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
    if (controller.signal.aborted) response.destroy();
    else response.end(formatServerSentEvent('[DONE]'));
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const httpError = toHttpError(error);
      sendJson(response, httpError.status, {
        error: { message: httpError.message, type: httpError.type, param: httpError.param, code: httpError.openAICode },
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

function toHttpError(error: unknown): OpenAIRequestError {
  if (error instanceof OpenAIRequestError) return error;
  const answer = (status: number, type: string, message: string, param: string | null, code: string | null): OpenAIRequestError =>
    new OpenAIRequestError({ status, type, message, param, code });
  if (InvalidArgumentError.isInstance(error)) return answer(400, 'invalid_request_error', error.message, error.argument, error.code);
  if (AbortedError.isInstance(error)) return answer(499, 'invalid_request_error', error.message, null, error.code);
  if (CodestackError.isInstance(error)) return answer(500, 'server_error', error.message, null, error.code);
  return answer(500, 'server_error', 'The model failed.', null, null);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

async function readJsonBody(request: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const declared = Number(request.headers['content-length']);
  const tooLarge = (): OpenAIRequestError =>
    new OpenAIRequestError({ status: 413, type: 'invalid_request_error', message: `The request body exceeds ${limit} bytes.`, code: 'request_too_large' });
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
    throw new OpenAIRequestError({ status: 400, type: 'invalid_request_error', message: 'The request body is not valid JSON.' });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new OpenAIRequestError({ status: 400, type: 'invalid_request_error', message: 'The request body must be a JSON object.' });
  }
  return parsed as Record<string, unknown>;
}

function toOpenAIUsage(usage: LanguageModelUsage): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const input = usage.inputTokens ?? 0;
  const output = usage.outputTokens ?? 0;
  return { prompt_tokens: input, completion_tokens: output, total_tokens: input + output };
}
