import type { LanguageModel } from '@codestack/core';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTinyLocalModel } from '../__fixtures__/tiny-local-model.js';
import { generateText, streamText } from '../models/generate-text.js';
import { OpenAICompatibleModel } from '../models/openai-compatible-model.js';
import { createOpenAIServer, type OpenAIServer } from './openai-server.js';

let model: LanguageModel;
let server: OpenAIServer;
let baseURL: string;
const apiKey = 'test-key';

beforeAll(async () => {
  model = await createTinyLocalModel();
  server = createOpenAIServer({ model, apiKey, maximumBodyBytes: 4096 });
  ({ url: baseURL } = await server.listen(0));
});

afterAll(async () => {
  await server.close();
});

describe('createOpenAIServer with the official openai client', () => {
  const client = (): OpenAI => new OpenAI({ apiKey, baseURL, maxRetries: 0 });

  it('lists the model', async () => {
    const page = await client().models.list();
    expect(page.data.map((entry) => entry.id)).toEqual(['codestack-tiny']);
  });

  it('answers a non-streaming chat completion with what the model generated', async () => {
    const prompt = [{ role: 'user' as const, content: 'Write add.' }];
    const completion = await client().chat.completions.create({ model: 'codestack-tiny', messages: prompt, max_tokens: 5, temperature: 0.7, seed: 11 });
    const direct = await generateText({ model, prompt, maxOutputTokens: 5, temperature: 0.7, seed: 11 });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message.role).toBe('assistant');
    expect(completion.choices[0]?.message.content).toBe(direct.text);
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.usage).toEqual({ prompt_tokens: direct.usage.inputTokens, completion_tokens: 5, total_tokens: direct.usage.inputTokens! + 5 });
  });

  it('streams a chat completion whose deltas add up to the non-streaming answer', async () => {
    const body = { model: 'codestack-tiny', messages: [{ role: 'user' as const, content: 'Say hi' }], max_tokens: 6, seed: 2, temperature: 0.9 };
    const whole = await client().chat.completions.create(body);
    const stream = await client().chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(whole.choices[0]?.message.content);
    expect(finish).toBe('length');
    expect(usage?.completion_tokens).toBe(6);
  });

  it('serves text completions, streaming and not', async () => {
    const whole = await client().completions.create({ model: 'codestack-tiny', prompt: 'const x =', max_tokens: 4 });
    expect(whole.object).toBe('text_completion');
    const stream = await client().completions.create({ model: 'codestack-tiny', prompt: 'const x =', max_tokens: 4, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(whole.choices[0]?.text);
  });

  it('rejects a wrong key with 401 and OpenAI error JSON', async () => {
    const error = await new OpenAI({ apiKey: 'wrong', baseURL, maxRetries: 0 }).models.list().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(401);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('invalid_api_key');
  });

  it('rejects an oversized body with 413', async () => {
    const error = await client()
      .chat.completions.create({ model: 'codestack-tiny', messages: [{ role: 'user', content: 'x'.repeat(10000) }] })
      .catch((caught: unknown) => caught);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('request_too_large');
  });

  it('rejects invalid parameters with 400 naming the parameter', async () => {
    const error = await client()
      .chat.completions.create({ model: 'codestack-tiny', messages: [{ role: 'user', content: 'x' }], temperature: 7 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.APIError>).param).toBe('temperature');
    const response = await fetch(`${baseURL}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` }, body: '{oops' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { message: 'The request body is not valid JSON.', type: 'invalid_request_error', param: null, code: null } });
  });

  it('answers unknown routes with 404 error JSON', async () => {
    const response = await fetch(`${baseURL}/embeddings`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` } });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  });
});

describe('createOpenAIServer request limits', () => {
  const client = (url = baseURL): OpenAI => new OpenAI({ apiKey, baseURL: url, maxRetries: 0 });
  type ApiError = InstanceType<typeof OpenAI.APIError>;
  const user = [{ role: 'user' as const, content: 'x' }];

  it('refuses n other than 1 with a 400 naming n', async () => {
    const error = (await client().chat.completions.create({ model: 'codestack-tiny', messages: user, n: 2 }).catch((caught: unknown) => caught)) as ApiError;
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.param).toBe('n');
    expect(error.code).toBe('unsupported_value');
  });

  it('answers an unknown model with 404 model_not_found, on completions and on /v1/models/{id}', async () => {
    const error = (await client().chat.completions.create({ model: 'gpt-4o', messages: user }).catch((caught: unknown) => caught)) as ApiError;
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error.code).toBe('model_not_found');
    expect(error.param).toBe('model');
    const completion = (await client().completions.create({ model: 'other', prompt: 'x' }).catch((caught: unknown) => caught)) as ApiError;
    expect(completion.status).toBe(404);
    const retrieved = (await client().models.retrieve('nope').catch((caught: unknown) => caught)) as ApiError;
    expect(retrieved.status).toBe(404);
    expect(retrieved.code).toBe('model_not_found');
    expect((await client().models.retrieve('codestack-tiny')).id).toBe('codestack-tiny');
  });

  it('bounds stop sequences: at most 4, each 1 to 256 characters, and the body size', async () => {
    const five = (await client()
      .chat.completions.create({ model: 'codestack-tiny', messages: user, stop: ['a', 'b', 'c', 'd', 'e'] as unknown as string[] })
      .catch((caught: unknown) => caught)) as ApiError;
    expect(five).toBeInstanceOf(OpenAI.BadRequestError);
    expect(five.param).toBe('stop');
    const long = (await client().chat.completions.create({ model: 'codestack-tiny', messages: user, stop: 'y'.repeat(300) }).catch((caught: unknown) => caught)) as ApiError;
    expect(long.param).toBe('stop');
    // 60 000 stop strings never reach the model: the body limit (4 KiB on this server) answers 413.
    const many = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'codestack-tiny', messages: user, stop: Array.from({ length: 60_000 }, (_, index) => `s${index}`) }),
    });
    expect(many.status).toBe(413);
    const four = await client().chat.completions.create({ model: 'codestack-tiny', messages: user, stop: ['a', 'b', 'c', 'd'], max_tokens: 2 });
    expect(four.choices).toHaveLength(1);
  });

  it("refuses max_tokens above the model's own limit, naming the request's field", async () => {
    // The tiny model's context is 256 tokens, so it can produce at most 255.
    const tokens = (await client().chat.completions.create({ model: 'codestack-tiny', messages: user, max_tokens: 300 }).catch((caught: unknown) => caught)) as ApiError;
    expect(tokens).toBeInstanceOf(OpenAI.BadRequestError);
    expect(tokens.param).toBe('max_tokens');
    expect(tokens.message).toContain('[1, 255]');
    const completionTokens = (await client()
      .chat.completions.create({ model: 'codestack-tiny', messages: user, max_completion_tokens: 4096 })
      .catch((caught: unknown) => caught)) as ApiError;
    expect(completionTokens.param).toBe('max_completion_tokens');
    expect(completionTokens.message).not.toContain('maxOutputTokens');
  });

  it('names the request field when a model that reports no limits refuses an option, and bounds messages', async () => {
    // A wrapper without maxOutputTokens: the server cannot know the limit and the model refuses.
    const opaque: LanguageModel = {
      specificationVersion: 'codestack-v1',
      provider: model.provider,
      modelId: 'opaque',
      doGenerate: (call) => model.doGenerate(call),
      doStream: (call) => model.doStream(call),
    };
    const other = createOpenAIServer({ model: opaque, maximumMessages: 3 });
    const { url } = await other.listen(0);
    try {
      const error = (await client(url).chat.completions.create({ model: 'opaque', messages: user, max_tokens: 1000 }).catch((caught: unknown) => caught)) as ApiError;
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error.param).toBe('max_tokens');
      expect(error.message).toContain('[1, 255]');
      const streamed = (await client(url)
        .chat.completions.create({ model: 'opaque', messages: user, max_completion_tokens: 1000, stream: true })
        .catch((caught: unknown) => caught)) as ApiError;
      expect(streamed.param).toBe('max_completion_tokens');
      const messages = (await client(url)
        .chat.completions.create({ model: 'opaque', messages: [...user, ...user, ...user, ...user] })
        .catch((caught: unknown) => caught)) as ApiError;
      expect(messages.param).toBe('messages');
    } finally {
      await other.close();
    }
  });
});

describe('OpenAICompatibleModel against the server over loopback', () => {
  it('round-trips what the local model produced, generating and streaming', async () => {
    const remote = new OpenAICompatibleModel({ baseURL, apiKey, modelId: 'codestack-tiny' });
    const options = { prompt: [{ role: 'user' as const, content: 'Write a loop.' }], maxOutputTokens: 5, seed: 5, temperature: 0.5 };
    const direct = await generateText({ model, ...options });
    const overHttp = await generateText({ model: remote, ...options });
    expect(overHttp).toEqual(direct);
    const streamed = await streamText({ model: remote, ...options });
    const parts: string[] = [];
    for await (const part of streamed.fullStream) parts.push(part.type);
    expect(parts.at(-1)).toBe('finish');
    expect(await streamed.text).toBe(direct.text);
    const completion = await generateText({ model: remote, prompt: 'let total = 0;', maxOutputTokens: 4 });
    expect(completion).toEqual(await generateText({ model, prompt: 'let total = 0;', maxOutputTokens: 4 }));
  });
});
