import type { LanguageModelMiddleware } from '../models/wrap-language-model.js';

/**
 * Picks a fine-tuned adapter by the call's task tag: reads `providerOptions.codestack.taskTag`
 * and sets `providerOptions.codestack.adapter` to `routes[taskTag]` (or `defaultAdapter`), which
 * the local model (or a server that understands it) uses to select its LoRA adapter. An adapter
 * the caller already chose is kept.
 */
export function adapterRoutingMiddleware({
  routes,
  defaultAdapter,
}: {
  routes: Readonly<Record<string, string>>;
  defaultAdapter?: string;
}): LanguageModelMiddleware {
  return {
    async transformParams({ params }) {
      const codestack = params.providerOptions?.codestack ?? {};
      if (typeof codestack.adapter === 'string') return params;
      const tag = typeof codestack.taskTag === 'string' ? codestack.taskTag : undefined;
      const adapter = (tag !== undefined && Object.hasOwn(routes, tag) ? routes[tag] : undefined) ?? defaultAdapter;
      if (adapter === undefined) return params;
      return { ...params, providerOptions: { ...params.providerOptions, codestack: { ...codestack, adapter } } };
    },
  };
}
