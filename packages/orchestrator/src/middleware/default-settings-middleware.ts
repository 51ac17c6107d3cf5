import type { LanguageModelCallOptions } from '@codestack/core';
import type { LanguageModelMiddleware } from '../models/wrap-language-model.js';

/** Settings {@link defaultSettingsMiddleware} applies where a call leaves them unset. */
export type DefaultSettings = Omit<LanguageModelCallOptions, 'prompt' | 'abortSignal'>;

/**
 * Fills in call options the caller did not set (temperature, token limit, stop sequences…).
 * Provider options merge per provider, the call's own values winning.
 */
export function defaultSettingsMiddleware({ settings }: { settings: DefaultSettings }): LanguageModelMiddleware {
  return {
    async transformParams({ params }) {
      const merged: LanguageModelCallOptions = { ...params };
      for (const [key, value] of Object.entries(settings) as [keyof DefaultSettings, unknown][]) {
        if (key === 'providerOptions' || value === undefined) continue;
        if (merged[key] === undefined) (merged as unknown as Record<string, unknown>)[key] = value;
      }
      if (settings.providerOptions) {
        const providerOptions: Record<string, Record<string, unknown>> = { ...settings.providerOptions };
        for (const [provider, values] of Object.entries(params.providerOptions ?? {})) {
          providerOptions[provider] = { ...providerOptions[provider], ...values };
        }
        merged.providerOptions = providerOptions;
      }
      return merged;
    },
  };
}
