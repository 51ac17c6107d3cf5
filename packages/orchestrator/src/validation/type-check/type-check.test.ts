import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortedError } from '@codestack/core';
import { formatDiagnostics, typeCheck, TypeCheckTimeoutError, type TypeCheckOptions, type TypeCheckResult } from './type-check.js';

const packageDirectory = fileURLToPath(new URL('../../..', import.meta.url));

describe('typeCheck', () => {
  it('accepts correct code that uses the real types of a declared dependency (openai)', async () => {
    const result = await typeCheck({
      code: "import OpenAI from 'openai';\nconst client = new OpenAI({ apiKey: 'key', baseURL: 'http://127.0.0.1:1/v1' });\nexport const url: string = client.baseURL;\n",
      projectDirectory: packageDirectory,
    });
    expect(result.diagnostics).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it('reports a type error against the dependency with its position', async () => {
    const result = await typeCheck({
      code: "import OpenAI from 'openai';\nconst client = new OpenAI({ apiKey: 'key' });\nexport const url: number = client.baseURL;\n",
      projectDirectory: packageDirectory,
    });
    expect(result.ok).toBe(false);
    expect(result.diagnostics).toEqual([
      expect.objectContaining({ code: 2322, category: 'error', file: 'snippet.ts', line: 3, column: 14 }),
    ]);
    expect(formatDiagnostics(result.diagnostics)).toMatch(/^snippet\.ts:3:14 - error TS2322: Type 'string' is not assignable to type 'number'/);
  });

  it('uses the Node types and the standard library', async () => {
    const good = await typeCheck({ code: "import { readFileSync } from 'node:fs';\nexport const text: string = readFileSync('x', 'utf8').at(0) ?? '';\n", projectDirectory: packageDirectory });
    expect(good.ok).toBe(true);
    const bad = await typeCheck({ code: "import { readFileSync } from 'node:fs';\nexport const size: number = readFileSync('x', 'utf8');\n", projectDirectory: packageDirectory });
    expect(bad.diagnostics.map((diagnostic) => diagnostic.code)).toEqual([2322]);
  });

  it('resolves a workspace package linked into node_modules (its real files lie outside node_modules)', async () => {
    const result = await typeCheck({
      code: "import { InvalidArgumentError } from '@codestack/core';\nexport const code: number = new InvalidArgumentError({ argument: 'a', message: 'b' }).code;\n",
      projectDirectory: packageDirectory,
    });
    expect(result.diagnostics.map((diagnostic) => [diagnostic.code, diagnostic.message])).toEqual([[2322, "Type 'string' is not assignable to type 'number'."]]);
  });

  it('reports an unresolvable import', async () => {
    const result = await typeCheck({ code: "import { x } from 'no-such-package-here';\nexport const y = x;\n", projectDirectory: packageDirectory });
    expect(result.diagnostics.map((diagnostic) => diagnostic.code)).toEqual([2307]);
  });

  it('checks JavaScript for syntax only unless asked', async () => {
    expect((await typeCheck({ code: 'const a = 1;\na.toFixed(2).nope();\n', language: 'javascript' })).ok).toBe(true);
    const broken = await typeCheck({ code: 'function f( {\n', language: 'javascript' });
    expect(broken.ok).toBe(false);
    expect(broken.diagnostics[0]?.line).toBe(1);
    expect((await typeCheck({ code: 'const a = 1;\na.nope();\n', language: 'javascript', checkJavaScript: true })).ok).toBe(false);
  });

  it('type-checks against in-memory files the caller passes, named as the caller named them', async () => {
    const files = { 'lib/clamp.ts': 'export function clamp(value: number, low: number, high: number): number {\n  return Math.min(high, Math.max(low, value));\n}\n' };
    const good = await typeCheck({ code: "import { clamp } from './lib/clamp.js';\nexport const n: number = clamp(5, 0, 3);\n", files, projectDirectory: packageDirectory });
    expect(good.diagnostics).toEqual([]);
    const bad = await typeCheck({ code: "import { clamp } from './lib/clamp.js';\nexport const s: string = clamp(5, 0, 3);\n", files, projectDirectory: packageDirectory });
    expect(bad.diagnostics.map((diagnostic) => [diagnostic.code, diagnostic.file])).toEqual([[2322, 'snippet.ts']]);
    const brokenFile = await typeCheck({ code: "import './lib/broken.js';\n", files: { 'lib/broken.ts': 'export const x: number = "no";\n' }, projectDirectory: packageDirectory });
    // An error in an in-memory file the snippet imports (the code under test) is reported where it is.
    expect(brokenFile.ok).toBe(false);
    expect(brokenFile.diagnostics.map((diagnostic) => [diagnostic.code, diagnostic.file, diagnostic.line])).toEqual([[2322, 'lib/broken.ts', 1]]);
  });

  it('refuses bad options with typed errors', async () => {
    await expect(typeCheck({ code: '', language: 'python' as 'typescript' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(typeCheck({ code: '', fileName: '../escape.ts' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(typeCheck({ code: '', files: { '../../etc/passwd.ts': '' } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(typeCheck({ code: '', files: { '/etc/passwd.ts': '' } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(typeCheck({ code: '', timeoutMilliseconds: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(typeCheck({ code: '', compilerOptions: { plugins: [{ name: 'x', create: () => 1 }] } as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'compilerOptions' });
  });

  it('rejects at once when the signal is already aborted', async () => {
    await expect(typeCheck({ code: 'export {};', signal: AbortSignal.abort() })).rejects.toSatisfy(AbortedError.isInstance);
  });
});

/**
 * Code under check must not read files outside the project's `node_modules` declarations, the
 * compiler's libraries and the in-memory files, nor learn whether such a file exists.
 */
describe('typeCheck confinement', () => {
  const secret = `sk-live-${Math.random().toString(36).slice(2)}`;
  let root: string;
  let outside: string;
  let project: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'codestack-type-check-'));
    outside = join(root, 'outside');
    project = join(root, 'project');
    mkdirSync(join(outside, 'types', 'leak'), { recursive: true });
    writeFileSync(join(outside, 'config.ts'), `export const apiKey = '${secret}' as const;\n`);
    writeFileSync(join(outside, 'secret.d.ts'), `export declare const apiKey: '${secret}';\n`);
    writeFileSync(join(outside, 'jsx-runtime.d.ts'), `export namespace JSX { interface IntrinsicElements { '${secret}': {} } type Element = '${secret}'; }\nexport declare function jsx(...args: unknown[]): '${secret}';\n`);
    writeFileSync(join(outside, 'types', 'leak', 'index.d.ts'), `declare const apiKey: '${secret}';\n`);
    mkdirSync(join(project, 'node_modules', 'pkg'), { recursive: true });
    writeFileSync(join(project, 'package.json'), '{ "name": "project" }\n');
    writeFileSync(join(project, 'config.ts'), `export const apiKey = '${secret}' as const;\n`);
    writeFileSync(join(project, 'node_modules', 'pkg', 'package.json'), '{ "name": "pkg", "types": "index.d.ts" }\n');
    writeFileSync(join(project, 'node_modules', 'pkg', 'index.d.ts'), 'export declare const value: 42;\n');
    symlinkSync(join(outside, 'secret.d.ts'), join(project, 'node_modules', 'pkg', 'leak.d.ts'));
    symlinkSync(outside, join(project, 'node_modules', 'linked-out'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const check = (code: string, options: Pick<TypeCheckOptions, 'fileName' | 'compilerOptions'> = {}): Promise<TypeCheckResult> =>
    typeCheck({ code, projectDirectory: project, ...options });
  /** The result as text, with the temporary directory's name replaced. */
  const text = (result: TypeCheckResult): string => JSON.stringify(result).replaceAll(root, '<root>');

  it('a secret in a readable in-memory file does show in a diagnostic (the detector works)', async () => {
    const result = await typeCheck({ code: "import { apiKey } from './config.js';\nexport const a: 5 = apiKey;\n", files: { 'config.ts': `export const apiKey = '${secret}' as const;\n` }, projectDirectory: project });
    expect(text(result)).toContain(secret);
  });

  it('an absolute import of a secret file reads nothing and looks like a missing file', async () => {
    for (const target of [join(outside, 'config'), join(outside, 'config.ts'), join(outside, 'secret'), join(project, 'config')]) {
      const denied = await check(`import { apiKey } from '${target}';\nexport const a: 5 = apiKey;\n`);
      const missing = await check(`import { apiKey } from '${target}-missing';\nexport const a: 5 = apiKey;\n`);
      expect(text(denied)).not.toContain(secret);
      expect(denied.diagnostics.map((diagnostic) => diagnostic.code)).toEqual([2307]);
      expect(text(denied)).toBe(text(missing).replaceAll('-missing', ''));
    }
  });

  it('relative ../ escapes and the project’s own sources are not read', async () => {
    const escape = await check("import { apiKey } from '../outside/config';\nexport const a: 5 = apiKey;\n");
    expect(escape.diagnostics.map((diagnostic) => diagnostic.code)).toEqual([2307]);
    expect(text(escape)).not.toContain(secret);
    const deeper = await check("import { apiKey } from './node_modules/pkg/../../../outside/config';\nexport const a: 5 = apiKey;\n");
    expect(text(deeper)).not.toContain(secret);
    const sibling = await check("import { apiKey } from './config';\nexport const a: 5 = apiKey;\n");
    expect(sibling.diagnostics.map((diagnostic) => diagnostic.code)).toEqual([2307]);
  });

  it('/// <reference path> is no existence oracle', async () => {
    const existing = await check(`/// <reference path="${join(outside, 'secret.d.ts')}" />\nexport const a: 5 = apiKey;\n`);
    const missing = await check(`/// <reference path="${join(outside, 'absent.d.ts')}" />\nexport const a: 5 = apiKey;\n`);
    expect(text(existing)).not.toContain(secret);
    expect(existing.diagnostics.map((diagnostic) => diagnostic.code)).toContain(6053); // File '…' not found.
    expect(text(existing)).toBe(text(missing).replaceAll('absent.d.ts', 'secret.d.ts'));
    const relative = await check('/// <reference path="../outside/secret.d.ts" />\nexport const a: 5 = apiKey;\n');
    expect(text(relative)).not.toContain(secret);
    const noExtension = await check(`/// <reference path="${join(outside, 'config')}" />\nexport {};\n`);
    const noExtensionMissing = await check(`/// <reference path="${join(outside, 'nothing')}" />\nexport {};\n`);
    expect(text(noExtension)).toBe(text(noExtensionMissing).replaceAll('nothing', 'config'));
  });

  it('/// <reference types>, <reference lib> and <amd-module> read nothing outside', async () => {
    for (const directive of [
      `/// <reference types="${join(outside, 'types', 'leak')}" />`,
      '/// <reference types="../outside/types/leak" />',
      '/// <reference lib="../../../../../outside/secret" />',
      `/// <amd-module name="${join(outside, 'secret')}" />`,
    ]) {
      const result = await check(`${directive}\nexport const a: 5 = apiKey;\n`);
      expect(text(result)).not.toContain(secret);
      expect(result.diagnostics.map((diagnostic) => diagnostic.code)).toContain(2304); // Cannot find name 'apiKey'.
    }
  });

  it('import() type queries read nothing outside', async () => {
    const result = await check(`export const a: 5 = null! as typeof import('${join(outside, 'secret')}')['apiKey'];\nexport type T = import('../outside/config').apiKey;\n`);
    expect(text(result)).not.toContain(secret);
    expect(result.diagnostics.map((diagnostic) => diagnostic.code)).toEqual([2307, 2307]);
    // The same through checked JavaScript: JSDoc import types and require().
    const javascript = await typeCheck({
      code: `/** @type {typeof import('${join(outside, 'secret')}').apiKey} */\nexport const a = 5;\nconst { apiKey } = require('${join(outside, 'config.ts')}');\n/** @type {5} */\nexport const b = apiKey;\n`,
      language: 'javascript',
      checkJavaScript: true,
      projectDirectory: project,
    });
    expect(text(javascript)).not.toContain(secret);
    expect(javascript.ok).toBe(false);
  });

  it('a @jsxImportSource pragma pointing outside reads nothing', async () => {
    const result = await check(`/** @jsxImportSource ${outside} */\nexport const element: 5 = <div />;\n`, { fileName: 'snippet.tsx', compilerOptions: { jsx: 4 } });
    expect(text(result)).not.toContain(secret);
    expect(result.diagnostics.map((diagnostic) => diagnostic.code)).toContain(2875); // This JSX tag requires the module path '…/jsx-runtime' to exist.
  });

  it('a symlink inside node_modules pointing outside is not followed; the package itself resolves', async () => {
    const good = await check("import { value } from 'pkg';\nexport const a: 41 = value;\n");
    expect(good.diagnostics.map((diagnostic) => diagnostic.message)).toEqual(["Type '42' is not assignable to type '41'."]);
    for (const specifier of ['pkg/leak', 'linked-out/secret', 'linked-out/config']) {
      const result = await check(`import { apiKey } from '${specifier}';\nexport const a: 5 = apiKey;\n`);
      expect(text(result)).not.toContain(secret);
      expect(result.diagnostics.map((diagnostic) => diagnostic.code)).toEqual([2307]);
    }
  });

  it('compiler options from the caller are confined too (typeRoots, paths, baseUrl)', async () => {
    const result = await check("/// <reference types=\"leak\" />\nimport { apiKey } from 'alias';\nexport const a: 5 = apiKey;\n", {
      compilerOptions: { typeRoots: [join(outside, 'types')], types: ['leak'], paths: { alias: [join(outside, 'secret.d.ts')] } },
    });
    expect(text(result)).not.toContain(secret);
    expect(result.ok).toBe(false);
  });

  it('deeply nested code is an error diagnostic, not a crash, and the next check works', async () => {
    const depth = 100_000;
    const result = await check(`export const x = ${'['.repeat(depth)}1${']'.repeat(depth)};\n`);
    expect(result).toEqual({ ok: false, diagnostics: [expect.objectContaining({ code: 0, category: 'error', message: expect.stringMatching(/nested too deeply/) })] });
    expect((await check('export const n: number = 1;\n')).ok).toBe(true);
  });
});

describe('typeCheck time limit and cancellation', () => {
  // `Count` takes 999 tail-recursive steps, each building a longer tuple of that statement's own
  // 1000-member union, so nothing is shared between statements: about 4 s a statement on an idle
  // 2-core machine; these twenty took 127 s unchecked on the old in-process check (under load).
  const expensive =
    "type D = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9';\n" +
    "type Count<S extends string, N extends unknown[] = []> = N['length'] extends 999 ? S : Count<S, [...N, S]>;\n" +
    Array.from({ length: 20 }, (_, index) => `export const v${index}: Count<\`${index}\${D}\${D}\${D}\`> = null!;\n`).join('');

  it('stops a check at the time limit the caller sets, and the next check starts a fresh worker', async () => {
    await typeCheck({ code: 'export {};', projectDirectory: packageDirectory }); // A warm worker: the limit measures the check.
    const started = performance.now();
    const error = await typeCheck({ code: expensive, projectDirectory: packageDirectory, timeoutMilliseconds: 2000 }).catch((caught: unknown) => caught);
    const elapsed = performance.now() - started;
    expect(TypeCheckTimeoutError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'TYPE_CHECK_TIMEOUT', timeoutMilliseconds: 2000 });
    expect(elapsed).toBeGreaterThanOrEqual(1990);
    expect(elapsed).toBeLessThan(5000);
    const next = await typeCheck({ code: 'export const n: string = 1;', projectDirectory: packageDirectory });
    expect(next.diagnostics.map((diagnostic) => diagnostic.code)).toEqual([2322]);
  });

  it('aborts a running check, drops a queued one, and the next check works', async () => {
    await typeCheck({ code: 'export {};', projectDirectory: packageDirectory });
    const running = new AbortController();
    const queued = new AbortController();
    const started = performance.now();
    const first = typeCheck({ code: expensive, projectDirectory: packageDirectory, signal: running.signal }).catch((caught: unknown) => caught);
    const second = typeCheck({ code: 'export {};', projectDirectory: packageDirectory, signal: queued.signal }).catch((caught: unknown) => caught);
    const third = typeCheck({ code: 'export const n: number = 1;', projectDirectory: packageDirectory });
    queued.abort();
    await expect(second).resolves.toSatisfy(AbortedError.isInstance);
    setTimeout(() => running.abort(), 500);
    const error = await first;
    expect(AbortedError.isInstance(error)).toBe(true);
    expect(performance.now() - started).toBeLessThan(4000);
    await expect(third).resolves.toEqual({ ok: true, diagnostics: [] });
  });

  it('does not keep the process alive when idle', () => {
    // A fresh process that checks once and never closes anything must exit by itself.
    const builtIndex = fileURLToPath(new URL('../../../dist/index.js', import.meta.url));
    const script = `const { typeCheck } = await import(${JSON.stringify(builtIndex)}); const result = await typeCheck({ code: 'export const n: number = 1;' }); console.log(JSON.stringify(result));`;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(JSON.parse(output)).toEqual({ ok: true, diagnostics: [] });
  });
});
