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
});
