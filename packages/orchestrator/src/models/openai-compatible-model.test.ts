import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AbortedError } from '@codestack/core';
import { afterEach, describe, expect, it } from 'vitest';
import { generateText, streamText } from './generate-text.js';
import { ModelCallError } from './model-call-error.js';
import { OpenAICompatibleModel, parseRetryAfter } from './openai-compatible-model.js';

// A scripted HTTP endpoint on loopback: each request is answered by the next handler, so the
// client's retry, timeout and streaming behaviour is exercised over real HTTP.
type Handler = (request: IncomingMessage, body: Record<string, unknown>, response: ServerResponse) => void;
let server: Server | undefined;
const seen: { path: string; body: Record<string, unknown>; authorization: string | undefined; at: number }[] = [];

async function endpoint(handlers: Handler[]): Promise<string> {
  seen.length = 0;
  server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const body = JSON.parse(text || '{}') as Record<string, unknown>;
      seen.push({ path: request.url ?? '', body, authorization: request.headers.authorization, at: Date.now() });
      const handler = handlers[Math.min(seen.length - 1, handlers.length - 1)]!;
      handler(request, body, response);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

afterEach(async () => {
  if (!server) return;
  server.closeAllConnections();
  await new Promise((resolve) => server!.close(resolve));
  server = undefined;
});

const chatAnswer: Handler = (_request, _body, response) => {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ id: 'x1', choices: [{ message: { content: 'hello' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1 } }));
};

describe('OpenAICompatibleModel', () => {
  it('sends chat prompts to /chat/completions with the key and maps the answer', async () => {
    const baseURL = await endpoint([chatAnswer]);
    const model = new OpenAICompatibleModel({ baseURL, modelId: 'm', apiKey: 'secret' });
    const result = await generateText({ model, prompt: [{ role: 'user', content: 'hi' }], maxOutputTokens: 5, temperature: 0, stopSequences: ['\n'] });
    expect(result).toEqual({ text: 'hello', finishReason: 'stop', usage: { inputTokens: 3, outputTokens: 1 } });
    expect(seen[0]).toMatchObject({
      path: '/v1/chat/completions',
      authorization: 'Bearer secret',
      body: { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, temperature: 0, stop: ['\n'], stream: false },
    });
  });

  it('sends text prompts to /completions', async () => {
    const baseURL = await endpoint([
      (_request, _body, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ choices: [{ text: ' world', finish_reason: 'length' }] }));
      },
    ]);
    const result = await generateText({ model: new OpenAICompatibleModel({ baseURL, modelId: 'm' }), prompt: 'hello' });
    expect(result.text).toBe(' world');
    expect(result.finishReason).toBe('length');
    expect(seen[0]?.path).toBe('/v1/completions');
    expect(seen[0]?.body.prompt).toBe('hello');
  });

  it('retries 429 and 503, honouring Retry-After, then succeeds', async () => {
    const baseURL = await endpoint([
      (_request, _body, response) => {
        response.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: 'slow down' } }));
      },
      (_request, _body, response) => {
        response.writeHead(503);
        response.end('busy');
      },
      chatAnswer,
    ]);
    const model = new OpenAICompatibleModel({ baseURL, modelId: 'm', maximumRetries: 3, initialBackoffMilliseconds: 20 });
    const result = await generateText({ model, prompt: [{ role: 'user', content: 'hi' }] });
    expect(result.text).toBe('hello');
    expect(seen).toHaveLength(3);
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(950);
    expect(seen[2]!.at - seen[1]!.at).toBeLessThan(900);
  });

  it('gives up after the retries with a typed error carrying the status', async () => {
    const baseURL = await endpoint([
      (_request, _body, response) => {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: 'exploded' } }));
      },
    ]);
    const model = new OpenAICompatibleModel({ baseURL, modelId: 'm', maximumRetries: 1, initialBackoffMilliseconds: 10 });
    const error = await generateText({ model, prompt: 'x' }).catch((caught: unknown) => caught);
    expect(ModelCallError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'MODEL_CALL_FAILED', status: 500, retryable: true });
    expect((error as Error).message).toContain('exploded');
    expect(seen).toHaveLength(2);
  });

  it('does not retry a 400', async () => {
    const baseURL = await endpoint([
      (_request, _body, response) => {
        response.writeHead(400);
        response.end('{"error":{"message":"bad"}}');
      },
    ]);
    await expect(generateText({ model: new OpenAICompatibleModel({ baseURL, modelId: 'm' }), prompt: 'x' })).rejects.toMatchObject({ status: 400, retryable: false });
    expect(seen).toHaveLength(1);
  });

  it('times out a silent endpoint', async () => {
    const baseURL = await endpoint([() => undefined]);
    const model = new OpenAICompatibleModel({ baseURL, modelId: 'm', timeoutMilliseconds: 200, maximumRetries: 0 });
    await expect(generateText({ model, prompt: 'x' })).rejects.toMatchObject({ code: 'MODEL_CALL_FAILED', retryable: true, message: expect.stringContaining('200 ms') });
  });

  it('is cancelled by its signal', async () => {
    const baseURL = await endpoint([() => undefined]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await generateText({ model: new OpenAICompatibleModel({ baseURL, modelId: 'm' }), prompt: 'x', abortSignal: controller.signal }).catch((caught: unknown) => caught);
    expect(AbortedError.isInstance(error)).toBe(true);
  });

  it('streams server-sent events into text deltas, finish reason and usage', async () => {
    const baseURL = await endpoint([
      (_request, _body, response) => {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        const chunks = [
          { choices: [{ delta: { role: 'assistant', content: '' } }] },
          { choices: [{ delta: { content: 'con' } }] },
          { choices: [{ delta: { content: 'st x' }, finish_reason: null }] },
          { choices: [{ delta: {}, finish_reason: 'stop' }] },
          { choices: [], usage: { prompt_tokens: 4, completion_tokens: 2 } },
        ];
        for (const chunk of chunks) response.write(`data: ${JSON.stringify(chunk)}\n\n`);
        response.end('data: [DONE]\n\n');
      },
    ]);
    const result = await streamText({ model: new OpenAICompatibleModel({ baseURL, modelId: 'm' }), prompt: [{ role: 'user', content: 'hi' }] });
    const deltas: string[] = [];
    for await (const delta of result.textStream) deltas.push(delta);
    expect(deltas).toEqual(['con', 'st x']);
    expect(await result.text).toBe('const x');
    expect(await result.finishReason).toBe('stop');
    expect(await result.usage).toEqual({ inputTokens: 4, outputTokens: 2 });
    expect(seen[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('refuses a bad base URL with a typed error', () => {
    expect(() => new OpenAICompatibleModel({ baseURL: 'not a url', modelId: 'm' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'baseURL' }));
  });

  it('parses Retry-After seconds and dates', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(new Date(Date.now() + 3000).toUTCString())).toBeGreaterThan(1000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
