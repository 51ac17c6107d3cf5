import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNodeProcess, type NodeProcessResult } from '../__fixtures__/run-node-process.js';

// A fresh Node process per case: the host application, importing the built package.
const entry = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
let directory: string;

async function runApplication(source: string): Promise<NodeProcessResult> {
  const file = join(directory, `application-${Math.random().toString(36).slice(2)}.mjs`);
  await writeFile(file, source);
  return runNodeProcess([file]);
}

beforeAll(async () => {
  expect(existsSync(entry), 'build the package first (npm run build)').toBe(true);
  directory = await mkdtemp(join(tmpdir(), 'codestack-process-handlers-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('createRuntime leaves the host process alone', { timeout: 60000 }, () => {
  it('adds no uncaughtException or unhandledRejection listeners', async () => {
    const result = await runApplication(`
      import { createRuntime } from ${JSON.stringify(entry)};
      const runtime = await createRuntime({ backend: 'wasm' });
      console.log(JSON.stringify({ backend: runtime.backend, uncaught: process.listenerCount('uncaughtException'), rejection: process.listenerCount('unhandledRejection') }));
    `);
    expect(JSON.parse(result.stdout)).toEqual({ backend: 'wasm', uncaught: 0, rejection: 0 });
  });

  it("an application's own uncaught error keeps its stack and exit code 1", async () => {
    const result = await runApplication(`
      import { createRuntime } from ${JSON.stringify(entry)};
      await createRuntime({ backend: 'wasm' });
      setTimeout(() => { throw new Error('the application failed'); }, 0);
    `);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Error: the application failed');
    expect(result.stderr).not.toContain('tf-backend-wasm');
  });

  it("an application's own unhandledRejection handler runs and decides", async () => {
    const result = await runApplication(`
      import { createRuntime } from ${JSON.stringify(entry)};
      await createRuntime({ backend: 'wasm' });
      process.on('unhandledRejection', (reason) => { console.log('handled: ' + reason.message); });
      Promise.reject(new Error('nobody awaited this'));
    `);
    expect(result.stdout).toContain('handled: nobody awaited this');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
  });
});
