import type { EmbedOptions, Embedder } from '@codestack/core';
import { AbortedError, InvalidArgumentError, throwIfAborted } from '@codestack/core';
import { EmbedderMismatchError } from './embedder-mismatch-error.js';
import { EmbeddingRequestError } from './embedding-request-error.js';

/** Options of {@link OpenAICompatibleEmbedder}. */
export interface OpenAICompatibleEmbedderOptions {
  /** The server, such as `https://api.openai.com` or `http://127.0.0.1:8080`; `/v1/embeddings` is appended (or just `/embeddings` when it already ends in `/v1`). */
  baseURL: string;
  /** Sent as `Authorization: Bearer <apiKey>` when given. */
  apiKey?: string;
  /** The model name, such as `text-embedding-3-small`. */
  model: string;
  /** The vector length the model returns; every answer is checked against it. */
  dimension: number;
  /** Also send `dimensions` in the request (for models that can shorten their vectors). Defaults to `false`. */
  requestDimensions?: boolean;
  /** Texts per request. Defaults to 64. */
  batchSize?: number;
  /** Retries after a 429, a 5xx or a network error. Defaults to 4. */
  maximumRetries?: number;
  /** The first backoff; it doubles on each retry unless the server sends `Retry-After`. Defaults to 500 ms. */
  initialBackoffMilliseconds?: number;
  /** The longest wait between attempts, `Retry-After` included. Defaults to 30 s. */
  maximumBackoffMilliseconds?: number;
  /** The fetch implementation. Defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

/**
 * An {@link Embedder} that calls an OpenAI-compatible `POST /v1/embeddings` endpoint with `fetch`:
 * batched, retried on 429 and 5xx with exponential backoff that honours `Retry-After`, and
 * cancellable through an `AbortSignal`.
 */
export class OpenAICompatibleEmbedder implements Embedder {
  /** `openai-compatible:<model>:d<dimension>`. */
  readonly id: string;
  /** The vector length. */
  readonly dimension: number;
  private readonly url: string;
  private readonly options: OpenAICompatibleEmbedderOptions;

  constructor(options: OpenAICompatibleEmbedderOptions) {
    let base: URL;
    try {
      base = new URL(options.baseURL);
    } catch (cause) {
      throw new InvalidArgumentError({ argument: 'baseURL', message: `'${options.baseURL}' is not a URL`, cause });
    }
    if (typeof options.model !== 'string' || options.model === '') {
      throw new InvalidArgumentError({ argument: 'model', message: 'must be a non-empty string' });
    }
    if (!Number.isInteger(options.dimension) || options.dimension < 1) {
      throw new InvalidArgumentError({ argument: 'dimension', message: `must be a positive integer, got ${options.dimension}` });
    }
    const batchSize = options.batchSize ?? 64;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new InvalidArgumentError({ argument: 'batchSize', message: `must be a positive integer, got ${batchSize}` });
    }
    const path = base.pathname.replace(/\/+$/, '');
    this.url = new URL(`${path.endsWith('/v1') ? path : `${path}/v1`}/embeddings`, base).toString();
    this.options = options;
    this.dimension = options.dimension;
    this.id = `openai-compatible:${options.model}:d${options.dimension}`;
  }

  /** Embeds `texts` in batches, in order. */
  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const batchSize = this.options.batchSize ?? 64;
    const vectors: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += batchSize) {
      throwIfAborted(options.signal, 'OpenAICompatibleEmbedder.embed');
      vectors.push(...(await this.embedBatch(texts.slice(start, start + batchSize), options.signal)));
    }
    return vectors;
  }

  private async embedBatch(texts: readonly string[], signal: AbortSignal | undefined): Promise<Float32Array[]> {
    const fetchImplementation = this.options.fetch ?? fetch;
    const maximumRetries = this.options.maximumRetries ?? 4;
    const body = JSON.stringify({
      model: this.options.model,
      input: texts,
      encoding_format: 'float',
      ...(this.options.requestDimensions ? { dimensions: this.dimension } : {}),
    });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.apiKey !== undefined) headers.authorization = `Bearer ${this.options.apiKey}`;
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(signal, 'OpenAICompatibleEmbedder.embed');
      let response: Response;
      try {
        response = await fetchImplementation(this.url, { method: 'POST', headers, body, ...(signal === undefined ? {} : { signal }) });
      } catch (cause) {
        if (signal?.aborted) throw new AbortedError({ operation: 'OpenAICompatibleEmbedder.embed', cause });
        if (attempt >= maximumRetries) {
          throw new EmbeddingRequestError({ url: this.url, message: `Embedding request failed after ${attempt + 1} attempts: ${String(cause)}`, cause });
        }
        await this.wait(this.backoff(attempt, null), signal);
        continue;
      }
      if (response.ok) return this.parse(await response.text(), texts.length, response.status);
      const text = await response.text().catch(() => '');
      const retryable = response.status === 429 || response.status >= 500;
      if (!retryable || attempt >= maximumRetries) {
        throw new EmbeddingRequestError({
          url: this.url,
          status: response.status,
          message: `Embedding request answered ${response.status} after ${attempt + 1} attempts: ${text.slice(0, 300)}`,
        });
      }
      await this.wait(this.backoff(attempt, response.headers.get('retry-after')), signal);
    }
  }

  private parse(text: string, expectedCount: number, status: number): Float32Array[] {
    let payload: { data?: { embedding?: unknown; index?: unknown }[] };
    try {
      payload = JSON.parse(text) as typeof payload;
    } catch (cause) {
      throw new EmbeddingRequestError({ url: this.url, status, message: 'Embedding response is not JSON', cause });
    }
    const data = payload.data;
    if (!Array.isArray(data) || data.length !== expectedCount) {
      throw new EmbeddingRequestError({
        url: this.url,
        status,
        message: `Embedding response has ${Array.isArray(data) ? data.length : 'no'} vectors for ${expectedCount} texts`,
      });
    }
    const ordered = [...data].sort((left, right) => Number(left.index ?? 0) - Number(right.index ?? 0));
    return ordered.map((item) => {
      const embedding = item.embedding;
      if (!Array.isArray(embedding) || embedding.some((value) => typeof value !== 'number')) {
        throw new EmbeddingRequestError({ url: this.url, status, message: 'An embedding is not an array of numbers' });
      }
      if (embedding.length !== this.dimension) {
        throw new EmbedderMismatchError({
          expected: `${this.id}/${this.dimension}`,
          message: `The server returned ${embedding.length}-dimensional vectors; ${this.id} expects ${this.dimension}`,
        });
      }
      return Float32Array.from(embedding as number[]);
    });
  }

  private backoff(attempt: number, retryAfter: string | null): number {
    const maximum = this.options.maximumBackoffMilliseconds ?? 30_000;
    if (retryAfter !== null) {
      const seconds = Number(retryAfter);
      const milliseconds = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - Date.now();
      if (Number.isFinite(milliseconds)) return Math.min(maximum, Math.max(0, milliseconds));
    }
    return Math.min(maximum, (this.options.initialBackoffMilliseconds ?? 500) * 2 ** attempt);
  }

  private wait(milliseconds: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(new AbortedError({ operation: 'OpenAICompatibleEmbedder.embed', cause: signal?.reason }));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, milliseconds);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
