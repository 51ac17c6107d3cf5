import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDirectoryAtomic } from '@codestack/core';
import { createRuntime, type Runtime } from '../backend/runtime.js';
import { LlamaModel } from '../model/llama-model.js';
import { encodeModelFiles, loadModel, saveModel } from './checkpoint.js';
import { tinyConfig } from '../__fixtures__/test-configs.js';

// core's kill -9 harness (a test fixture outside this package's rootDir, hence imported by path).
type KillDuringSaves = (options: { workspace: string; target: string; states: readonly [ReadonlyMap<string, string | Uint8Array>, ReadonlyMap<string, string | Uint8Array>]; afterKill(attempt: number): Promise<void> }) => Promise<{ interrupted: number }>;
const { killDuringSaves } = (await import(fileURLToPath(new URL('../../../core/src/__fixtures__/kill-during-saves.ts', import.meta.url)))) as { killDuringSaves: KillDuringSaves };

// kill -9 at random points of a checkpoint save, then load: the checkpoint is the old one or the
// new one, every time. The child process commits the exact files `saveModel` writes
// (`encodeModelFiles`) through the same `writeDirectoryAtomic` (core's `killDuringSaves` harness:
// bundled from source, so that each child starts in tens of milliseconds instead of loading TensorFlow.js).

let runtime: Runtime;
let workspace: string;
beforeAll(async () => {
  runtime = await createRuntime({ backend: 'wasm' });
  workspace = await mkdtemp(join(tmpdir(), 'checkpoint-crash-'));
});
afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
});

describe('a checkpoint save killed at a random point', () => {
  it('leaves the old checkpoint or the new one (60 kill -9 tries), and the next save sweeps the leftovers', async () => {
    const models = [1, 2].map((seed) => LlamaModel.create(runtime, { ...tinyConfig, feedForwardSize: 256 }, { seed, initializerRange: 0.1 }));
    const references = models.map((model) => new Map([...model.exportWeights()].map(([name, weight]) => [name, weight.data])));
    const states = models.map((model) => encodeModelFiles(model)) as [Map<string, Uint8Array>, Map<string, Uint8Array>];
    const target = join(workspace, 'checkpoint');
    await saveModel(models[1]!, target);
    for (const model of models) model.dispose();
    const tensors = runtime.tf.memory().numTensors;
    const seen = [0, 0];
    const { interrupted } = await killDuringSaves({
      workspace,
      target,
      states,
      async afterKill(attempt) {
        const model = await loadModel(runtime, target);
        const weights = model.exportWeights();
        model.dispose();
        const which = references.findIndex((reference) => [...reference].every(([name, data]) => weights.get(name)!.data.every((value, index) => value === data[index])));
        expect(which, `attempt ${attempt}`).toBeGreaterThanOrEqual(0);
        seen[which]!++;
      },
    });
    expect(runtime.tf.memory().numTensors).toBe(tensors);
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[1]).toBeGreaterThan(0);
    expect(interrupted).toBeGreaterThan(0);
    await writeDirectoryAtomic(target, new Map([['notes.txt', 'swept']]));
    expect((await readdir(target)).filter((entry) => entry.startsWith('.'))).toEqual([]);
  }, 60_000);
});
