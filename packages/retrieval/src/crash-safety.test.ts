import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocsIndex } from './docs-index.js';

const saveLoop = fileURLToPath(new URL('./__fixtures__/save-loop.ts', import.meta.url));
let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'codestack-crash-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Runs the save loop until it has saved `savesBeforeKill` times, waits `delay` ms more, then SIGKILLs it. */
function runAndKill(savesBeforeKill: number, delay: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', saveLoop, directory], { stdio: ['ignore', 'pipe', 'pipe'] });
    let saves = 0;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      saves += (chunk.toString().match(/saved/g) ?? []).length;
      if (saves >= savesBeforeKill && !child.killed) setTimeout(() => child.kill('SIGKILL'), delay);
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(saves);
      else reject(new Error(`save loop exited with ${code}: ${stderr}`));
    });
  });
}

describe('crash safety', () => {
  it('leaves a loadable index when the process is killed in the middle of save', { timeout: 120_000 }, async () => {
    let interruptedSaves = 0;
    for (const [saves, delay] of [
      [1, 0],
      [2, 7],
      [1, 23],
      [3, 41],
    ] as const) {
      await runAndKill(saves, delay);
      // More than the four files of one saved state: the kill interrupted a save.
      if ((await readdir(directory)).length > 4) interruptedSaves++;
      const index = await DocsIndex.load(directory);
      expect(index.size).toBe(3001);
      const [changing] = (await index.search('changing round', { topK: 1, mode: 'lexical' })).map((result) => result.entry.name);
      expect(changing).toMatch(/^changing\.round\d+$/);
    }
    expect(interruptedSaves).toBeGreaterThan(0);
    // Whatever a kill left behind (temporary files, unreferenced data files) goes at the next save.
    const index = await DocsIndex.load(directory);
    await index.save(directory);
    expect((await readdir(directory)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(await readdir(directory)).toHaveLength(4);
  });
});
