import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDirectoryAtomic } from '@codestack/core';
import { Adapter } from './adapter.js';
import { encodeAdapterFiles, loadAdapter, saveAdapter } from './adapter-files.js';
import { fingerprintModel } from './base-model-fingerprint.js';
import { randomizeAdapter, removeTemporaryDirectories, temporaryDirectory, tinyModel } from './test-support.js';

// core's kill -9 harness (a test fixture outside this package's rootDir, hence imported by path).
type KillDuringSaves = (options: { workspace: string; target: string; states: readonly [ReadonlyMap<string, string | Uint8Array>, ReadonlyMap<string, string | Uint8Array>]; afterKill(attempt: number): Promise<void> }) => Promise<{ interrupted: number }>;
const { killDuringSaves } = (await import(fileURLToPath(new URL('../../core/src/__fixtures__/kill-during-saves.ts', import.meta.url)))) as { killDuringSaves: KillDuringSaves };

// kill -9 at random points of an adapter save, then load: the adapter is the old one or the new
// one, every time. The child commits the exact files `saveAdapter` writes (`encodeAdapterFiles`)
// through the same `writeDirectoryAtomic` (core's `killDuringSaves` harness: bundled from source, so
// that each child starts in tens of milliseconds).

afterAll(async () => {
  await removeTemporaryDirectories();
});

describe('an adapter save killed at a random point', () => {
  it('leaves the old adapter or the new one (60 kill -9 tries), and the next save sweeps the leftovers', async () => {
    const workspace = await temporaryDirectory('adapter-crash-');
    const model = await tinyModel();
    const adapters = [1, 2].map((seed) => {
      const adapter = Adapter.create(model, { method: 'lora', r: 8, targetModules: 'all-linear', layers: 'all' });
      randomizeAdapter(adapter, seed);
      return adapter;
    });
    const references = adapters.map((adapter) => new Map([...adapter.exportTensors()].map(([name, tensor]) => [name, tensor.data])));
    const states = adapters.map((adapter) => encodeAdapterFiles(adapter, model).files) as [Map<string, string | Uint8Array>, Map<string, string | Uint8Array>];
    const target = join(workspace, 'adapter');
    await saveAdapter(adapters[1]!, model, target);
    for (const adapter of adapters) adapter.dispose();
    const tensors = model.runtime.tf.memory().numTensors;
    const baseFingerprint = fingerprintModel(model);
    const seen = [0, 0];
    const { interrupted } = await killDuringSaves({
      workspace,
      target,
      states,
      async afterKill(attempt) {
        const loaded = await loadAdapter(model, target, { baseFingerprint });
        const exported = loaded.exportTensors();
        loaded.dispose();
        const which = references.findIndex((reference) => [...reference].every(([name, data]) => exported.get(name)!.data.every((value, index) => value === data[index])));
        expect(which, `attempt ${attempt}`).toBeGreaterThanOrEqual(0);
        seen[which]!++;
      },
    });
    expect(model.runtime.tf.memory().numTensors).toBe(tensors);
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[1]).toBeGreaterThan(0);
    expect(interrupted).toBeGreaterThan(0);
    await writeDirectoryAtomic(target, new Map([['README.md', 'swept']]));
    expect((await readdir(target)).filter((entry) => entry.startsWith('.'))).toEqual([]);
    model.dispose();
  }, 60_000);
});
