import { describe, expect, it } from 'vitest';
import { adapterRoutingMiddleware } from './adapter-routing-middleware.js';
import { createTinyLocalModel } from '../__fixtures__/tiny-local-model.js';

describe('adapterRoutingMiddleware', () => {
  it('routes by task tag, falls back to the default, and keeps an explicit choice', async () => {
    const middleware = adapterRoutingMiddleware({ routes: { tests: 'vitest-lora', types: 'ts-lora' }, defaultAdapter: 'general' });
    const model = await createTinyLocalModel();
    const route = async (codestack?: Record<string, unknown>) =>
      (await middleware.transformParams!({ type: 'generate', params: { prompt: 'p', providerOptions: codestack ? { codestack } : undefined }, model })).providerOptions?.codestack?.adapter;
    expect(await route({ taskTag: 'tests' })).toBe('vitest-lora');
    expect(await route({ taskTag: 'unknown' })).toBe('general');
    expect(await route()).toBe('general');
    expect(await route({ taskTag: 'tests', adapter: 'mine' })).toBe('mine');
    expect(await route({ taskTag: 'toString' })).toBe('general');
  });

  it("in 'model-id' mode sets the request's model id of an OpenAI-compatible server instead", async () => {
    const middleware = adapterRoutingMiddleware({ mode: 'model-id', routes: { tests: 'vitest-lora', types: 'base:ts-lora' }, defaultAdapter: 'general' });
    const model = await createTinyLocalModel();
    const route = async (providerOptions?: Record<string, Record<string, unknown>>) =>
      (await middleware.transformParams!({ type: 'generate', params: { prompt: 'p', ...(providerOptions ? { providerOptions } : {}) }, model })).providerOptions;
    expect(await route({ codestack: { taskTag: 'tests' } })).toEqual({ codestack: { taskTag: 'tests' }, 'openai-compatible': { model: 'vitest-lora' } });
    expect((await route({ codestack: { taskTag: 'types' } }))?.['openai-compatible']).toEqual({ model: 'base:ts-lora' });
    expect((await route())?.['openai-compatible']).toEqual({ model: 'general' });
    // An explicit adapter becomes the model id (and is not left for a server that ignores it).
    expect(await route({ codestack: { taskTag: 'tests', adapter: 'mine' }, 'openai-compatible': { user: 'u' } })).toEqual({
      codestack: { taskTag: 'tests' },
      'openai-compatible': { user: 'u', model: 'mine' },
    });
    // An explicit model id is kept.
    expect((await route({ codestack: { taskTag: 'tests' }, 'openai-compatible': { model: 'pinned' } }))?.['openai-compatible']).toEqual({ model: 'pinned' });
  });
});
