import { fileURLToPath } from 'node:url';

const packageNames = ['core', 'tokenizer', 'native-kernels', 'runtime', 'tuning', 'retrieval', 'orchestrator', 'model-base', 'cli'] as const;

/** Subpath exports (`@codestack/orchestrator/local`) and the source file each one builds from. */
const subpathEntries = [
  ['orchestrator/local', 'orchestrator/src/local.ts'],
  ['orchestrator/retrieval', 'orchestrator/src/retrieval.ts'],
  ['orchestrator/evaluation', 'orchestrator/src/evaluation.ts'],
] as const;

/**
 * Vitest aliases that point every `@codestack/*` import at the package's TypeScript source,
 * so tests run against `src/` without waiting for a build (the tRPC/TanStack pattern).
 */
export const sourceAliases = [
  ...packageNames.map((name) => ({
    find: new RegExp(`^@codestack/${name}$`),
    replacement: fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url)),
  })),
  ...subpathEntries.map(([subpath, source]) => ({
    find: new RegExp(`^@codestack/${subpath}$`),
    replacement: fileURLToPath(new URL(`./packages/${source}`, import.meta.url)),
  })),
];
