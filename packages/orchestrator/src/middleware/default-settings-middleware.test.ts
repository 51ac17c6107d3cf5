import type { LanguageModelCallOptions } from '@codestack/core';
import { describe, expect, it } from 'vitest';
import { defaultSettingsMiddleware } from './default-settings-middleware.js';
import { createTinyLocalModel } from '../__fixtures__/tiny-local-model.js';

describe('defaultSettingsMiddleware', () => {
  it('fills unset options, keeps the call values, and merges provider options', async () => {
    const middleware = defaultSettingsMiddleware({ settings: { temperature: 0, maxOutputTokens: 9, providerOptions: { codestack: { adapter: 'a', useCache: true } } } });
    const params: LanguageModelCallOptions = { prompt: 'p', maxOutputTokens: 3, providerOptions: { codestack: { adapter: 'b' } } };
    const result = await middleware.transformParams!({ type: 'generate', params, model: await createTinyLocalModel() });
    expect(result).toEqual({ prompt: 'p', temperature: 0, maxOutputTokens: 3, providerOptions: { codestack: { adapter: 'b', useCache: true } } });
  });
});
