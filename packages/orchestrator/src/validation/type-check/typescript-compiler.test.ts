import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { typescriptCompiler } from './typescript-compiler.js';

const builtIndex = fileURLToPath(new URL('../../../dist/index.js', import.meta.url));

describe('typescriptCompiler', () => {
  it('is the pinned 5.9 compiler API, loaded once', () => {
    expect(typescriptCompiler().version).toMatch(/^5\.9\./);
    expect(typescriptCompiler()).toBe(typescriptCompiler());
  });

  it('is not loaded by importing the package; a type check loads it in its worker, a transpile in the caller', () => {
    // A fresh process: which module files are loaded after the import, a type check and a transpile.
    const script = `
      import { createRequire } from 'node:module';
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((path) => path.endsWith('/typescript/lib/typescript.js'));
      const orchestrator = await import(${JSON.stringify(builtIndex)});
      const afterImport = loaded();
      const { ok } = await orchestrator.typeCheck({ code: 'export const n: number = 1;', projectDirectory: process.cwd() });
      const afterTypeCheck = loaded();
      orchestrator.transpileTypeScript('export const n: number = 1;');
      console.log(JSON.stringify({ afterImport, ok, afterTypeCheck, afterTranspile: loaded() }));
    `;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(output)).toEqual({ afterImport: false, ok: true, afterTypeCheck: false, afterTranspile: true });
  });
});
