import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortedError, InvalidArgumentError } from '@codestack/core';
import { DocsIndex } from './docs-index.js';
import { sampleEntries } from './__fixtures__/sample-entries.js';
import { EmbedderMismatchError } from './embedder-mismatch-error.js';
import { EmbeddingRequestError } from './embedding-request-error.js';
import { OpenAICompatibleEmbedder } from './openai-compatible-embedder.js';

interface Recorded {
  authorization: string | undefined;
  body: { model: string; input: string[] };
  at: number;
}

let server: Server | undefined;

/** Starts a real embeddings server on 127.0.0.1; `script` answers each request in turn. */
async function startServer(
  script: (request: Recorded, index: number, response: ServerResponse) => boolean,
): Promise<{ baseURL: string; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const recorded = { authorization: request.headers.authorization, body: JSON.parse(text) as Recorded['body'], at: Date.now() };
      requests.push(recorded);
      if (request.url !== '/v1/embeddings') {
        response.writeHead(404).end();
        return;
      }
      if (script(recorded, requests.length - 1, response)) return;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          object: 'list',
          // Answer in reverse order: the client must sort by index.
          data: recorded.body.input.map((input, index) => ({ object: 'embedding', index, embedding: [input.length, index, 1] })).reverse(),
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return { baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

afterEach(async () => {
  const running = server;
  server = undefined;
  if (running === undefined) return;
  running.closeAllConnections();
  await new Promise((resolve) => running.close(resolve));
});

describe('OpenAICompatibleEmbedder', () => {
  it('batches texts, sends the key and returns vectors in input order', async () => {
    const { baseURL, requests } = await startServer(() => false);
    const embedder = new OpenAICompatibleEmbedder({ baseURL, apiKey: 'secret', model: 'm', dimension: 3, batchSize: 2 });
    const vectors = await embedder.embed(['a', 'bb', 'ccc', 'dddd', 'eeeee']);
    expect(requests.map((request) => request.body.input.length)).toEqual([2, 2, 1]);
    expect(requests[0]?.authorization).toBe('Bearer secret');
    expect(requests[0]?.body.model).toBe('m');
    expect(vectors.map((vector) => vector[0])).toEqual([1, 2, 3, 4, 5]);
    expect(embedder.id).toBe('openai-compatible:m:d3');
  });

  it('retries a 429 after its Retry-After and a 503 with backoff', async () => {
    const { baseURL, requests } = await startServer((_request, index, response) => {
      if (index === 0) {
        response.writeHead(429, { 'retry-after': '1' }).end('slow down');
        return true;
      }
      if (index === 1) {
        response.writeHead(503).end('busy');
        return true;
      }
      return false;
    });
    const embedder = new OpenAICompatibleEmbedder({ baseURL: `${baseURL}/v1`, model: 'm', dimension: 3, initialBackoffMilliseconds: 20 });
    const vectors = await embedder.embed(['hello']);
    expect(vectors[0]?.[0]).toBe(5);
    expect(requests).toHaveLength(3);
    expect((requests[1]?.at ?? 0) - (requests[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('fails with a typed error on a 400, after the retries run out, and on a wrong dimension', async () => {
    const { baseURL, requests } = await startServer((request, _index, response) => {
      if (request.body.input[0] === 'bad') response.writeHead(400).end('{"error":"bad input"}');
      else if (request.body.input[0] === 'down') response.writeHead(500).end('down');
      else return false;
      return true;
    });
    const embedder = new OpenAICompatibleEmbedder({ baseURL, model: 'm', dimension: 3, maximumRetries: 2, initialBackoffMilliseconds: 5 });
    const bad = await embedder.embed(['bad']).catch((error: unknown) => error);
    expect(EmbeddingRequestError.isInstance(bad)).toBe(true);
    expect((bad as EmbeddingRequestError).status).toBe(400);
    expect(requests).toHaveLength(1);
    const down = await embedder.embed(['down']).catch((error: unknown) => error);
    expect((down as EmbeddingRequestError).code).toBe('EMBEDDING_REQUEST_FAILED');
    expect(requests).toHaveLength(4);
    const wrong = new OpenAICompatibleEmbedder({ baseURL, model: 'm', dimension: 4 });
    await expect(wrong.embed(['ok'])).rejects.toSatisfy(EmbedderMismatchError.isInstance);
  });

  it('is cancelled by its signal while waiting to retry', async () => {
    const { baseURL } = await startServer((_request, _index, response) => {
      response.writeHead(429, { 'retry-after': '30' }).end();
      return true;
    });
    const embedder = new OpenAICompatibleEmbedder({ baseURL, model: 'm', dimension: 3 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    await expect(embedder.embed(['x'], { signal: controller.signal })).rejects.toSatisfy(AbortedError.isInstance);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses bad options', () => {
    expect(() => new OpenAICompatibleEmbedder({ baseURL: 'not a url', model: 'm', dimension: 3 })).toThrow(InvalidArgumentError);
    expect(() => new OpenAICompatibleEmbedder({ baseURL: 'http://127.0.0.1', model: 'm', dimension: 0 })).toThrow(InvalidArgumentError);
  });
});

describe('a DocsIndex built through the remote embedder', () => {
  it('records the remote embedder in its manifest and needs it to load', async () => {
    // A server whose vectors count letters a-h: real HTTP, deterministic, meaningful enough.
    const { baseURL, requests } = await startServer((request, _index, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          data: request.body.input.map((input, index) => ({
            index,
            embedding: Array.from({ length: 8 }, (_, letter) => input.split(String.fromCharCode(97 + letter)).length),
          })),
        }),
      );
      return true;
    });
    const embedder = new OpenAICompatibleEmbedder({ baseURL, model: 'letters', dimension: 8, batchSize: 4 });
    const index = await DocsIndex.build(sampleEntries(), { embedder });
    expect(requests.length).toBe(2);
    const directory = await mkdtemp(join(tmpdir(), 'codestack-remote-index-'));
    try {
      const manifest = await index.save(directory);
      expect(manifest.embedder).toEqual({ id: 'openai-compatible:letters:d8', dimension: 8 });
      expect(manifest.files.embedderState).toBeUndefined();
      await expect(DocsIndex.load(directory)).rejects.toSatisfy(InvalidArgumentError.isInstance);
      const loaded = await DocsIndex.load(directory, { embedder });
      expect(await loaded.search('sha256 digest', { topK: 3 })).toEqual(await index.search('sha256 digest', { topK: 3 }));
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
