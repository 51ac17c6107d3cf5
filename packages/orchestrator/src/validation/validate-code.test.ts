import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateCode } from './validate-code.js';

const projectDirectory = fileURLToPath(new URL('../..', import.meta.url));
const tests = "import { strictEqual } from 'node:assert';\nstrictEqual(add(2, 3), 5);\n";

describe('validateCode', () => {
  it('passes code that type-checks and passes its tests', async () => {
    const report = await validateCode({ code: 'export function add(a: number, b: number): number { return a + b; }', tests, projectDirectory });
    expect(report).toMatchObject({ ok: true, diagnostics: [], run: { status: 'passed' } });
  });

  it('stops at type errors without running', async () => {
    const report = await validateCode({ code: "export function add(a: number, b: number): string { return a + b; }", tests, projectDirectory });
    expect(report.ok).toBe(false);
    expect(report.diagnostics[0]?.code).toBe(2322);
    expect(report.run).toBeUndefined();
  });

  it('fails code whose tests fail', async () => {
    const report = await validateCode({ code: 'export function add(a: number, b: number): number { return a - b; }', tests, projectDirectory });
    expect(report.ok).toBe(false);
    expect(report.run?.status).toBe('failed');
    expect(report.run?.stderr).toContain('AssertionError');
  });

  it('fails empty code', async () => {
    const report = await validateCode({ code: '\n  \n' });
    expect(report.ok).toBe(false);
    expect(report.diagnostics[0]?.message).toContain('no code');
  });

  it('fails an answer of comments only, but keeps code whose strings look like comments', async () => {
    const report = await validateCode({ code: '// TODO: write it\n/* later */\n', projectDirectory });
    expect(report.ok).toBe(false);
    expect(report.diagnostics[0]?.message).toContain('only comments');
    const code = await validateCode({ code: 'export const url = "http://example.com/*x*/";\n', projectDirectory });
    expect(code.ok).toBe(true);
  });

  it('validates JavaScript with a syntax check and a run', async () => {
    const report = await validateCode({ code: 'function add(a, b) { return a + b }', language: 'javascript', tests: "require('assert').strictEqual(add(1, 1), 2)", projectDirectory });
    expect(report.ok).toBe(true);
  });

  describe('tests in their own file that import the code under test', () => {
    const clamp = 'export function clamp(value: number, low: number, high: number): number {\n  return Math.min(high, Math.max(low, value));\n}\n';
    const clampTests = "import { strictEqual } from 'node:assert';\nimport { clamp } from './clamp';\n\nstrictEqual(clamp(5, 0, 3), 3);\nstrictEqual(clamp(-1, 0, 3), 0);\n";

    it('type-checks and runs tests written as `import { clamp } from \'./clamp\'`', async () => {
      const report = await validateCode({ code: clamp, tests: clampTests, codeFile: 'src/clamp.ts', testsFile: 'src/clamp.test.ts', projectDirectory });
      expect(report).toMatchObject({ ok: true, diagnostics: [], run: { status: 'passed' } });
    });

    it('accepts the import with an extension, or as require, and still fails a failing test', async () => {
      const wrong = clamp.replace('Math.min(high, ', 'Math.min(high + 1, ');
      const withExtension = clampTests.replace("'./clamp'", "'./clamp.js'");
      const report = await validateCode({ code: wrong, tests: withExtension, codeFile: 'src/clamp.ts', testsFile: 'src/clamp.test.ts', projectDirectory });
      expect(report.ok).toBe(false);
      expect(report.run?.status).toBe('failed');
      expect(report.run?.stderr).toContain('AssertionError');
    });

    it('names the real files and lines in diagnostics: the tests file, then the code file', async () => {
      const badTests = clampTests.replace('strictEqual(clamp(-1, 0, 3), 0);', "strictEqual(clamp('x', 0, 3), 0);");
      const inTests = await validateCode({ code: clamp, tests: badTests, codeFile: 'src/clamp.ts', testsFile: 'src/clamp.test.ts', projectDirectory });
      expect(inTests.diagnostics).toEqual([expect.objectContaining({ code: 2345, file: 'src/clamp.test.ts', line: 5 })]);
      const badCode = clamp.replace('return Math.min', 'const unused: string = 1;\n  return Math.min');
      const inCode = await validateCode({ code: badCode, tests: clampTests, codeFile: 'src/clamp.ts', testsFile: 'src/clamp.test.ts', projectDirectory });
      expect(inCode.diagnostics).toEqual([expect.objectContaining({ code: 2322, file: 'src/clamp.ts', line: 2 })]);
    });

    it('moves diagnostics of tests that use the code directly (no import) to the tests file and line', async () => {
      const direct = "import { strictEqual } from 'node:assert';\nstrictEqual(clamp('x', 0, 3), 0);\n";
      const report = await validateCode({ code: clamp, tests: direct, codeFile: 'src/clamp.ts', testsFile: 'test/clamp.js', projectDirectory });
      expect(report.diagnostics).toEqual([expect.objectContaining({ code: 2345, file: 'test/clamp.js', line: 2 })]);
    });

    it('refuses file paths outside the project', async () => {
      await expect(validateCode({ code: clamp, tests: clampTests, codeFile: '../clamp.ts', testsFile: 'clamp.test.ts', projectDirectory })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'codeFile' });
    });
  });
});
