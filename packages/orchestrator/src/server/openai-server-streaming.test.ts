import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { LanguageModel } from '@codestack/core';
import { createRuntime, LlamaModel } from '@codestack/runtime';
import { getTokenizer } from '@codestack/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalLanguageModel } from '../models/local/local-language-model.js';
import { createOpenAIServer, type OpenAIServer } from './openai-server.js';

/**
 * The server over real sockets with a real local model whose decode steps are counted: streams
 * arrive token by token, other requests are answered during a generation, and a client that goes
 * away stops the decoding.
 */

let server: OpenAIServer;
let port: number;
/** Decode steps (calls of the model's forward pass) so far. */
let decodeSteps = 0;
const longGeneration = 200;

beforeAll(async () => {
  const runtime = await createRuntime();
  const llama = LlamaModel.create(
    runtime,
    {
      vocabularySize: 100256,
      hiddenSize: 32,
      layers: 2,
      attentionHeads: 4,
      keyValueHeads: 2,
      feedForwardSize: 64,
      maximumContext: 256,
      ropeTheta: 10000,
      normEpsilon: 1e-5,
      tiedEmbeddings: true,
    },
    { seed: 3 },
  );
  const logits = llama.logits.bind(llama);
  llama.logits = (...parameters: Parameters<LlamaModel['logits']>) => {
    decodeSteps++;
    return logits(...parameters);
  };
  const model: LanguageModel = createLocalLanguageModel({ model: llama, tokenizer: getTokenizer('cl100k_base'), modelId: 'codestack-counted' });
  server = createOpenAIServer({ model });
  ({ port } = await server.listen(0));
});
afterAll(async () => {
  await server.close();
});

interface Timed {
  status: number;
  /** Milliseconds from sending to each body chunk. */
  chunkTimes: number[];
  body: string;
  finishedAt: number;
}

/** Sends a request over a fresh socket and records when each body chunk arrived. */
function send(method: string, path: string, body?: unknown, onResponse?: (response: IncomingMessage, started: number) => void): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const text = body === undefined ? undefined : JSON.stringify(body);
    const request = httpRequest({ host: '127.0.0.1', port, method, path, agent: false, headers: text === undefined ? {} : { 'content-type': 'application/json' } }, (response) => {
      onResponse?.(response, started);
      const chunkTimes: number[] = [];
      let received = '';
      response.on('data', (chunk: Buffer) => {
        chunkTimes.push(performance.now() - started);
        received += chunk.toString();
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, chunkTimes, body: received, finishedAt: performance.now() }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(text);
  });
}

/** Waits until the decode counter stops moving for 150 ms and returns it. */
async function settledDecodeSteps(): Promise<number> {
  let previous = -1;
  while (previous !== decodeSteps) {
    previous = decodeSteps;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return decodeSteps;
}

const chat = (maximumTokens: number, stream: boolean) => ({
  model: 'codestack-counted',
  messages: [{ role: 'user', content: 'Count to a hundred.' }],
  max_tokens: maximumTokens,
  temperature: 1,
  seed: 1,
  stream,
});

describe('createOpenAIServer over real sockets', () => {
  it('streams: the first token arrives long before the last', async () => {
    const chunks: { time: number; text: string }[] = [];
    const response = await send('POST', '/v1/chat/completions', chat(120, true), (incoming, started) => {
      incoming.on('data', (chunk: Buffer) => chunks.push({ time: performance.now() - started, text: chunk.toString() }));
    });
    expect(response.status).toBe(200);
    const firstContent = chunks.find((chunk) => chunk.text.includes('"delta":{"content"'))?.time ?? Number.POSITIVE_INFINITY;
    const last = chunks.at(-1)?.time ?? 0;
    // Chunks leave as tokens are decoded: the first content well before the end, and the rest
    // spread over the generation rather than arriving in one burst.
    expect(firstContent).toBeLessThan(last / 4);
    expect(new Set(chunks.map((chunk) => Math.round(chunk.time / 5))).size).toBeGreaterThan(10);
    expect(response.body.split('\n\n').filter((event) => event.startsWith('data: {')).length).toBeGreaterThan(10);
    expect(response.body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    console.info(`time to first content ${firstContent.toFixed(0)} ms, to the last byte ${last.toFixed(0)} ms`);
  });

  it('answers GET /v1/models while a long generation runs, streaming or not', async () => {
    for (const stream of [false, true]) {
      const before = decodeSteps;
      const generation = send('POST', '/v1/chat/completions', chat(longGeneration, stream));
      while (decodeSteps < before + 5) await new Promise((resolve) => setTimeout(resolve, 5));
      const models = await send('GET', '/v1/models');
      const modelsAnsweredAt = performance.now();
      const stepsWhenAnswered = decodeSteps - before;
      expect(models.status).toBe(200);
      expect(JSON.parse(models.body).data[0].id).toBe('codestack-counted');
      const finished = await generation;
      expect(finished.status).toBe(200);
      expect(modelsAnsweredAt).toBeLessThan(finished.finishedAt);
      expect(stepsWhenAnswered).toBeLessThan(longGeneration / 2);
    }
  });

  it('stops decoding when a streaming client disconnects', async () => {
    await settledDecodeSteps();
    const before = decodeSteps;
    await new Promise<void>((resolve, reject) => {
      const request = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', agent: false }, (response) => {
        let events = 0;
        response.on('data', (chunk: Buffer) => {
          events += chunk.toString().split('data: ').length - 1;
          // Hang up after a few tokens.
          if (events >= 4) {
            request.destroy();
            resolve();
          }
        });
      });
      request.on('error', (error) => (request.destroyed ? undefined : reject(error)));
      request.end(JSON.stringify(chat(longGeneration, true)));
    });
    const steps = (await settledDecodeSteps()) - before;
    expect(steps).toBeGreaterThanOrEqual(3);
    expect(steps).toBeLessThan(longGeneration / 2);
  });

  it('stops decoding when a non-streaming client disconnects', async () => {
    await settledDecodeSteps();
    const before = decodeSteps;
    const request = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', agent: false });
    request.on('error', () => {});
    request.end(JSON.stringify(chat(longGeneration, false)));
    while (decodeSteps < before + 5) await new Promise((resolve) => setTimeout(resolve, 5));
    request.destroy();
    const steps = (await settledDecodeSteps()) - before;
    expect(steps).toBeLessThan(longGeneration / 2);
    // The server still serves the next request.
    const next = await send('POST', '/v1/chat/completions', chat(3, false));
    expect(next.status).toBe(200);
    expect(JSON.parse(next.body).usage.completion_tokens).toBe(3);
  });
});
