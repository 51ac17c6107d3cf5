import type { LanguageModelMiddleware } from '../models/wrap-language-model.js';

/** Options of {@link adapterRoutingMiddleware}. */
export interface AdapterRoutingOptions {
  /** Task tag → adapter (in `'model-id'` mode: the model id that serves it). */
  routes: Readonly<Record<string, string>>;
  /** The adapter (or model id) of a call whose tag has no route. Default: none (the base model). */
  defaultAdapter?: string;
  /**
   * How the choice reaches the model:
   * - `'provider-option'` (default): sets `providerOptions.codestack.adapter`, which a local model
   *   with adapters uses to select its LoRA adapter;
   * - `'model-id'`: sets the request's `model` (`providerOptions['openai-compatible'].model`) of an
   *   `OpenAICompatibleModel`, for a server that serves each adapter as a model id of its own:
   *   `codestack serve --lora-modules`, or vLLM's `--enable-lora --lora-modules name=path`. Route
   *   to a plain adapter id (`rxjs`) or, on `codestack serve`, `<base id>:<adapter>`.
   */
  mode?: 'provider-option' | 'model-id';
}

/**
 * Picks a fine-tuned adapter by the call's task tag: reads `providerOptions.codestack.taskTag`
 * and picks `routes[taskTag]` (or `defaultAdapter`), passed on as `mode` says: by default as
 * `providerOptions.codestack.adapter` for a local model, with `mode: 'model-id'` as the model id of
 * an OpenAI-compatible server's request, so the same app code picks a tuned adapter on a local
 * model, on `codestack serve`, or on a vLLM multi-LoRA deployment. An adapter the caller already
 * chose (`providerOptions.codestack.adapter`, or in `'model-id'` mode an explicit
 * `providerOptions['openai-compatible'].model`) is kept.
 */
export function adapterRoutingMiddleware({ routes, defaultAdapter, mode = 'provider-option' }: AdapterRoutingOptions): LanguageModelMiddleware {
  return {
    async transformParams({ params }) {
      const codestack = params.providerOptions?.codestack ?? {};
      const remote = params.providerOptions?.['openai-compatible'] ?? {};
      if (mode === 'model-id' && typeof remote.model === 'string') return params;
      const tag = typeof codestack.taskTag === 'string' ? codestack.taskTag : undefined;
      const chosen = typeof codestack.adapter === 'string' ? codestack.adapter : undefined;
      const adapter = chosen ?? (tag !== undefined && Object.hasOwn(routes, tag) ? routes[tag] : undefined) ?? defaultAdapter;
      if (adapter === undefined) return params;
      if (mode === 'model-id') {
        // The remote server knows nothing of codestack.adapter: the id alone picks the adapter.
        const { adapter: _dropped, ...rest } = codestack;
        return { ...params, providerOptions: { ...params.providerOptions, codestack: rest, 'openai-compatible': { ...remote, model: adapter } } };
      }
      if (chosen !== undefined) return params;
      return { ...params, providerOptions: { ...params.providerOptions, codestack: { ...codestack, adapter } } };
    },
  };
}
