import { fileURLToPath } from 'node:url';

const packageNames = ['core', 'tokenizer', 'runtime', 'tuning', 'retrieval', 'orchestrator', 'model-base'] as const;

/**
 * Vitest aliases that point every `@codestack/*` import at the package's TypeScript source,
 * so tests run against `src/` without waiting for a build (the tRPC/TanStack pattern).
 */
export const sourceAliases = packageNames.map((name) => ({
  find: new RegExp(`^@codestack/${name}$`),
  replacement: fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url)),
}));
