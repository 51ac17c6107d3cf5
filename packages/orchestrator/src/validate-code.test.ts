import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateCode } from './validate-code.js';

const projectDirectory = fileURLToPath(new URL('..', import.meta.url));
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
});
