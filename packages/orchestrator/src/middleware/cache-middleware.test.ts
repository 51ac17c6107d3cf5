import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTinyLocalModel } from '../__fixtures__/tiny-local-model.js';
import { cacheKey, cacheMiddleware, createDirectoryCacheStore, createMemoryCacheStore } from './cache-middleware.js';
import { generateText, streamText } from '../models/generate-text.js';
import { traceMiddleware, type TraceEvent } from './trace-middleware.js';
import { wrapLanguageModel } from '../models/wrap-language-model.js';

describe('cacheMiddleware', () => {
  it('answers a repeated call from the cache without calling the model', async () => {
    const events: TraceEvent[] = [];
    const base = wrapLanguageModel({ model: await createTinyLocalModel(), middleware: traceMiddleware({ onEvent: (event) => events.push(event) }) });
    const model = wrapLanguageModel({ model: base, middleware: cacheMiddleware({ store: createMemoryCacheStore() }) });
    const first = await generateText({ model, prompt: 'const a =', maxOutputTokens: 3 });
    const second = await generateText({ model, prompt: 'const a =   ', maxOutputTokens: 3 });
    expect(second).toEqual(first);
    expect(events.filter((event) => event.type === 'call-start')).toHaveLength(1);
    const streamed = await streamText({ model, prompt: 'const a =', maxOutputTokens: 3 });
    expect(await streamed.text).toBe(first.text);
    expect(events.filter((event) => event.type === 'call-start')).toHaveLength(1);
    await generateText({ model, prompt: 'const a =', maxOutputTokens: 3, temperature: 0.9 });
    expect(events.filter((event) => event.type === 'call-start')).toHaveLength(2);
  });

  it('keys on normalised params, not on the signal or key order', () => {
    const a = cacheKey('p', 'm', { prompt: 'x', temperature: 0, abortSignal: new AbortController().signal });
    const b = cacheKey('p', 'm', { temperature: 0, prompt: 'x' });
    expect(a).toBe(b);
    expect(cacheKey('p', 'other', { prompt: 'x', temperature: 0 })).not.toBe(a);
  });

  it('stores streams and results in a directory atomically and refuses corrupt entries', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'codestack-cache-'));
    try {
      const model = wrapLanguageModel({ model: await createTinyLocalModel(), middleware: cacheMiddleware({ store: createDirectoryCacheStore(directory) }) });
      const streamed = await streamText({ model, prompt: 'let b', maxOutputTokens: 3 });
      const text = await streamed.text;
      const files = await readdir(directory);
      expect(files).toHaveLength(1);
      const again = await generateText({ model: wrapLanguageModel({ model: await createTinyLocalModel(99), middleware: cacheMiddleware({ store: createDirectoryCacheStore(directory) }) }), prompt: 'let b', maxOutputTokens: 3 });
      expect(again.text).toBe(text);
      const path = join(directory, files[0]!);
      const entry = JSON.parse(await readFile(path, 'utf8')) as { value: { text: string } };
      entry.value.text = 'tampered';
      await writeFile(path, JSON.stringify(entry));
      await expect(generateText({ model, prompt: 'let b', maxOutputTokens: 3 })).rejects.toMatchObject({ code: 'CORRUPT_FILE' });
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
