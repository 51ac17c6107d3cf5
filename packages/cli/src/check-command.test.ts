import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runBin, type BinRun } from './__fixtures__/run-bin.js';

// `codestack check` as a user runs it, in a small project whose tests import the code under test.
const project = fileURLToPath(new URL('../test-fixtures/check-project', import.meta.url));

function check(args: string[]): Promise<BinRun> {
  return runBin(['check', ...args], '', { cwd: project });
}

describe('codestack check with tests in their own file', () => {
  it("passes tests that import the code with `import { clamp } from './clamp'`", async () => {
    const result = await check(['src/clamp.ts', '--tests', 'src/clamp.test.ts']);
    expect(result.stdout, result.stderr).toMatch(/run: passed/);
    expect(result.code).toBe(0);
  });

  it("points a type error at the tests file's own path and line, not at a snippet", async () => {
    const result = await check(['src/clamp.ts', '--tests', 'src/clamp.wrong.test.ts', '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { diagnostics: { file?: string; line?: number; code: number }[] };
    expect(report.diagnostics).toEqual([expect.objectContaining({ code: 2345, file: 'src/clamp.wrong.test.ts', line: 5 })]);
    expect(result.stdout).not.toContain('snippet.ts');
  });

  it('fails a failing test imported from another folder with an extension', async () => {
    const result = await check(['src/clamp.ts', '--tests', 'test/clamp-failing.test.ts']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/run: failed/);
    expect(result.stdout).toContain('AssertionError');
  });
});
