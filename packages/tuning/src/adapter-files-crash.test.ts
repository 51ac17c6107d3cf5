import { spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDirectoryAtomic } from '@codestack/core';
import { Adapter } from './adapter.js';
import { encodeAdapterFiles, loadAdapter, saveAdapter } from './adapter-files.js';
import { fingerprintModel } from './base-model-fingerprint.js';
import { randomizeAdapter, removeTemporaryDirectories, temporaryDirectory, tinyModel } from './test-support.js';

// kill -9 at random points of an adapter save, then load: the adapter is the old one or the new
// one, every time. The child commits the exact files `saveAdapter` writes (`encodeAdapterFiles`)
// through the same `writeDirectoryAtomic`, bundled from source with esbuild so that each child
// starts in tens of milliseconds.

afterAll(async () => {
  await removeTemporaryDirectories();
});

describe('an adapter save killed at a random point', () => {
  it('leaves the old adapter or the new one (60 kill -9 tries), and the next save sweeps the leftovers', async () => {
    const workspace = await temporaryDirectory('adapter-crash-');
    const writer = join(workspace, 'writer.mjs');
    await build({
      entryPoints: [fileURLToPath(new URL('../../core/src/atomic-directory.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: writer,
      logLevel: 'silent',
    });
    const model = await tinyModel();
    const adapters = [1, 2].map((seed) => {
      const adapter = Adapter.create(model, { method: 'lora', r: 8, targetModules: 'all-linear', layers: 'all' });
      randomizeAdapter(adapter, seed);
      return adapter;
    });
    const references = adapters.map((adapter) => new Map([...adapter.exportTensors()].map(([name, tensor]) => [name, tensor.data])));
    const states = adapters.map((adapter) => Object.fromEntries([...encodeAdapterFiles(adapter, model).files].map(([name, bytes]) => [name, Buffer.from(bytes).toString('base64')])));
    await writeFile(join(workspace, 'states.json'), JSON.stringify(states));
    const target = join(workspace, 'adapter');
    await saveAdapter(adapters[1]!, model, target);
    for (const adapter of adapters) adapter.dispose();
    const child = join(workspace, 'child.mjs');
    await writeFile(
      child,
      `import { readFileSync } from 'node:fs';
      import { writeDirectoryAtomic } from ${JSON.stringify(writer)};
      const [target, statesPath, first] = process.argv.slice(2);
      const states = JSON.parse(readFileSync(statesPath, 'utf8')).map((state) => new Map(Object.entries(state).map(([name, value]) => [name, Buffer.from(value, 'base64')])));
      process.stdout.write('ready\\n');
      for (let index = Number(first); ; index++) await writeDirectoryAtomic(target, states[index % 2]);`,
    );
    const tensors = model.runtime.tf.memory().numTensors;
    const baseFingerprint = fingerprintModel(model);
    const seen = [0, 0];
    let interrupted = 0;
    for (let attempt = 0; attempt < 60; attempt++) {
      const writerProcess = spawn(process.execPath, [child, target, join(workspace, 'states.json'), String(attempt)], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => writerProcess.stdout.once('data', () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
      writerProcess.kill('SIGKILL');
      await new Promise((resolve) => writerProcess.once('exit', resolve));
      if ((await readdir(target)).some((entry) => entry.startsWith('.'))) interrupted++;
      const loaded = await loadAdapter(model, target, { baseFingerprint });
      const exported = loaded.exportTensors();
      loaded.dispose();
      const which = references.findIndex((reference) => [...reference].every(([name, data]) => exported.get(name)!.data.every((value, index) => value === data[index])));
      expect(which, `attempt ${attempt}`).toBeGreaterThanOrEqual(0);
      seen[which]!++;
    }
    expect(model.runtime.tf.memory().numTensors).toBe(tensors);
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[1]).toBeGreaterThan(0);
    expect(interrupted).toBeGreaterThan(0);
    await writeDirectoryAtomic(target, new Map([['README.md', 'swept']]));
    expect((await readdir(target)).filter((entry) => entry.startsWith('.'))).toEqual([]);
    model.dispose();
  }, 60_000);
});
