import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocsIndex } from './docs-index.js';

const saveLoop = fileURLToPath(new URL('./__fixtures__/save-loop.ts', import.meta.url));
/** Entries and dimension of the saved index: small, so that one save takes a few milliseconds. */
const entryCount = 200;
const dimension = 32;
/** Kills in all, spread over `lanes` directories killed in parallel. */
const tries = 52;
const lanes = 4;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'codestack-crash-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * Runs the save loop into `directory` until it has reported `savesBeforeKill` saves, waits
 * `delay` ms more (landing somewhere inside a later save), then SIGKILLs it. Resolves with the
 * last round it reported saved.
 */
function runAndKill(directory: string, savesBeforeKill: number, delay: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', saveLoop, directory, String(entryCount), String(dimension)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lastRound = -1;
    let saves = 0;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      for (const match of chunk.toString().matchAll(/saved (\d+)/g)) {
        saves++;
        lastRound = Math.max(lastRound, Number(match[1]));
      }
      if (saves >= savesBeforeKill && !child.killed) {
        if (delay === 0) child.kill('SIGKILL');
        else setTimeout(() => child.kill('SIGKILL'), delay);
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(lastRound);
      else reject(new Error(`save loop exited with ${code}: ${stderr}`));
    });
  });
}

/** A deterministic pseudo-random sequence, so a failing run reproduces. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return state / 2 ** 32;
  };
}

describe('crash safety', () => {
  it(`leaves the old or the new index after kill -9 at ${tries} random points of a save`, { timeout: 240_000 }, async () => {
    const next = random(2024);
    const plans = Array.from({ length: tries }, () => ({ savesBeforeKill: 1 + Math.floor(next() * 3), delay: Math.floor(next() * 40) }));
    let interruptedSaves = 0;
    let completed = 0;
    const lane = async (laneIndex: number): Promise<void> => {
      const directory = join(root, `lane-${laneIndex}`);
      await mkdir(directory, { recursive: true });
      for (let planIndex = laneIndex; planIndex < plans.length; planIndex += lanes) {
        const { savesBeforeKill, delay } = plans[planIndex]!;
        const lastRound = await runAndKill(directory, savesBeforeKill, delay);
        // More than the four files of one saved state: the kill interrupted a save.
        if ((await readdir(directory)).length > 4) interruptedSaves++;
        const index = await DocsIndex.load(directory);
        expect(index.size).toBe(entryCount + 1);
        const changing = index.get('demo:changing')?.name;
        // The old state (the last reported save) or the new one (the save the kill interrupted,
        // or one more whose report was still in the pipe).
        const round = Number(/^changing\.round(\d+)$/.exec(changing ?? '')?.[1] ?? Number.NaN);
        expect(round, `plan ${planIndex}: reported round ${lastRound}, found ${changing}`).toBeGreaterThanOrEqual(lastRound);
        expect(round).toBeLessThanOrEqual(lastRound + 2);
        // The graph and the docstore are of one state: the vector search finds the changed entry.
        const [hit] = await index.search(`changing.round${round}`, { topK: 1, mode: 'lexical' });
        expect(hit?.entry.id).toBe('demo:changing');
        const vectorHits = await index.search(`changing.round${round}`, { topK: entryCount + 1, mode: 'vector' });
        expect(new Set(vectorHits.map((result) => result.entry.id)).size).toBe(entryCount + 1);
        completed++;
      }
    };
    await Promise.all(Array.from({ length: lanes }, (_, laneIndex) => lane(laneIndex)));
    expect(completed).toBe(tries);
    // The kills landed inside saves, not only between them.
    expect(interruptedSaves).toBeGreaterThan(tries / 5);
    // Whatever a kill left behind (temporary files, unreferenced data files) goes at the next save.
    for (let laneIndex = 0; laneIndex < lanes; laneIndex++) {
      const directory = join(root, `lane-${laneIndex}`);
      const index = await DocsIndex.load(directory);
      await index.save(directory);
      expect((await readdir(directory)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
      expect(await readdir(directory)).toHaveLength(4);
    }
  });
});
