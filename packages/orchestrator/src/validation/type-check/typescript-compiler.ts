import { createRequire } from 'node:module';
import type ts from 'typescript';

let compiler: typeof ts | undefined;

/**
 * The TypeScript compiler API (the pinned 5.9 line), loaded on first use. Loading it takes about
 * 0.6 s, so importing `@codestack/orchestrator` does not pay for it unless code is validated.
 * `typescript` is CommonJS, so it loads synchronously and `transpileTypeScript` stays synchronous.
 * `typeCheck` loads it in its worker thread, not in the calling one.
 */
export function typescriptCompiler(): typeof ts {
  compiler ??= createRequire(import.meta.url)('typescript') as typeof ts;
  return compiler;
}
