import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateCode } from '../validation/validate-code.js';
import { readTestFailure, transpiledLineMap } from './failure-report.js';
import { repairFeedback } from './generate-code.js';

const projectDirectory = fileURLToPath(new URL('../..', import.meta.url));
const tests = "import assert from 'node:assert';\n\nassert.strictEqual(wordCount('one two'), 2);\nassert.strictEqual(wordCount('  spaced   out  '), 2);\n";

describe('repair feedback from a real failing test', () => {
  it('names the failing assertion of the tests file, expected and actual, without sandbox paths or Node internals', async () => {
    const code = 'export function wordCount(text: string): number {\n  const parts: string[] = text.split(" ");\n  return parts.length;\n}\n';
    const sources = { code, tests, codeFile: 'src/word-count.ts', testsFile: 'word-count.tests.ts' };
    const report = await validateCode({ ...sources, projectDirectory });
    expect(report.run?.status).toBe('failed');
    expect(report.run?.stderr).toContain('codestack-sandbox-');
    const failure = readTestFailure(report.run!.stderr, sources);
    expect(failure?.test).toEqual({ file: 'word-count.tests.ts', line: 4, text: "assert.strictEqual(wordCount('  spaced   out  '), 2);" });
    expect(failure).toMatchObject({ expected: '2', actual: '8' });
    const feedback = repairFeedback(report, sources);
    expect(feedback).toContain("The failing test is word-count.tests.ts:4:\n    assert.strictEqual(wordCount('  spaced   out  '), 2);");
    expect(feedback).toContain('Expected: 2\nActual:   8');
    expect(feedback).not.toMatch(/codestack-sandbox|node:internal|\[eval\]|tests\.cjs/);
  });

  it('names the code line an error was thrown from', async () => {
    const code = 'type Words = string[];\n\nexport function wordCount(text: string): number {\n  const words: Words = text.split(/\\s+/);\n  if (words.length > 1) throw new Error(`cannot count ${words.length}`);\n  return 0;\n}\n';
    const sources = { code, tests };
    const report = await validateCode({ ...sources, projectDirectory });
    const feedback = repairFeedback(report, sources);
    expect(feedback).toContain("The failing test is tests:3:\n    assert.strictEqual(wordCount('one two'), 2);");
    expect(feedback).toContain('It failed in your code at code:5:\n    if (words.length > 1) throw new Error(`cannot count ${words.length}`);');
    expect(feedback).toContain('Error: cannot count 2');
    expect(feedback).not.toMatch(/codestack-sandbox|node:internal/);
  });

  it('puts the source line under a type diagnostic of the user file', async () => {
    const code = "import fs from 'node:fs';\n\nexport const text = fs.readFileSyncc('a.txt', 'utf8');\n";
    const report = await validateCode({ code, codeFile: 'src/read.ts', projectDirectory });
    const feedback = repairFeedback(report, { code, codeFile: 'src/read.ts' });
    expect(feedback).toContain("src/read.ts:3:24 - error TS2551: Property 'readFileSyncc' does not exist");
    expect(feedback).toContain("\n    export const text = fs.readFileSyncc('a.txt', 'utf8');");
  });

  it('maps transpiled lines back to the TypeScript source', () => {
    const map = transpiledLineMap("import assert from 'node:assert';\ninterface A { a: number }\nconst a: A = { a: 1 };\nassert.ok(a);\n");
    // The JavaScript starts with `"use strict"` and the `exports` and import helpers; the assertion line still maps to line 3 (0-based).
    const lines = [...Array(12).keys()].map(map);
    expect(lines).toContain(3);
    expect(lines.filter((line) => line !== undefined).every((line) => line! >= 0 && line! <= 3)).toBe(true);
  });
});
