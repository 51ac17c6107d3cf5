import { describe, expect, it } from 'vitest';
import { runInSandbox } from './sandbox/sandbox.js';
import { transpileTypeScript } from './transpile.js';

describe('transpileTypeScript', () => {
  it('strips types and turns imports into require so the sandbox can run it', async () => {
    const { code, diagnostics } = transpileTypeScript(
      "import * as assert from 'assert';\nconst add = (a: number, b: number): number => a + b;\ninterface P { x: number }\nconst p: P = { x: add(1, 2) };\nassert.deepEqual(p.x, 3);\nconsole.log(p.x);\n",
    );
    expect(diagnostics).toEqual([]);
    expect(code).toContain('require("assert")');
    expect(code).not.toContain(': number');
    const result = await runInSandbox({ code });
    expect(result.status).toBe('passed');
    expect(result.stdout.trim()).toBe('3');
  });

  it('reports syntax errors', () => {
    expect(transpileTypeScript('const x: = 1;').diagnostics.length).toBeGreaterThan(0);
  });
});
