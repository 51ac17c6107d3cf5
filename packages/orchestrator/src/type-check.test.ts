import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatDiagnostics, typeCheck } from './type-check.js';

const packageDirectory = fileURLToPath(new URL('..', import.meta.url));

describe('typeCheck', () => {
  it('accepts correct code that uses the real types of a declared dependency (openai)', () => {
    const result = typeCheck({
      code: "import OpenAI from 'openai';\nconst client = new OpenAI({ apiKey: 'key', baseURL: 'http://127.0.0.1:1/v1' });\nexport const url: string = client.baseURL;\n",
      projectDirectory: packageDirectory,
    });
    expect(result.diagnostics).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it('reports a type error against the dependency with its position', () => {
    const result = typeCheck({
      code: "import OpenAI from 'openai';\nconst client = new OpenAI({ apiKey: 'key' });\nexport const url: number = client.baseURL;\n",
      projectDirectory: packageDirectory,
    });
    expect(result.ok).toBe(false);
    expect(result.diagnostics).toEqual([
      expect.objectContaining({ code: 2322, category: 'error', file: 'snippet.ts', line: 3, column: 14 }),
    ]);
    expect(formatDiagnostics(result.diagnostics)).toMatch(/^snippet\.ts:3:14 - error TS2322: Type 'string' is not assignable to type 'number'/);
  });

  it('uses the Node types and the standard library', () => {
    const good = typeCheck({ code: "import { readFileSync } from 'node:fs';\nexport const text: string = readFileSync('x', 'utf8').at(0) ?? '';\n", projectDirectory: packageDirectory });
    expect(good.ok).toBe(true);
    const bad = typeCheck({ code: "import { readFileSync } from 'node:fs';\nexport const size: number = readFileSync('x', 'utf8');\n", projectDirectory: packageDirectory });
    expect(bad.diagnostics.map((diagnostic) => diagnostic.code)).toEqual([2322]);
  });

  it('reports an unresolvable import', () => {
    const result = typeCheck({ code: "import { x } from 'no-such-package-here';\nexport const y = x;\n", projectDirectory: packageDirectory });
    expect(result.diagnostics.map((diagnostic) => diagnostic.code)).toEqual([2307]);
  });

  it('checks JavaScript for syntax only unless asked', () => {
    expect(typeCheck({ code: 'const a = 1;\na.toFixed(2).nope();\n', language: 'javascript' }).ok).toBe(true);
    const broken = typeCheck({ code: 'function f( {\n', language: 'javascript' });
    expect(broken.ok).toBe(false);
    expect(broken.diagnostics[0]?.line).toBe(1);
    expect(typeCheck({ code: 'const a = 1;\na.nope();\n', language: 'javascript', checkJavaScript: true }).ok).toBe(false);
  });

  it('refuses a bad language with a typed error', () => {
    expect(() => typeCheck({ code: '', language: 'python' as 'typescript' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
