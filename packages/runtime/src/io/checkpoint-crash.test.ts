import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDirectoryAtomic } from '@codestack/core';
import { createRuntime, type Runtime } from '../backend/runtime.js';
import { LlamaModel } from '../model/llama-model.js';
import { encodeModelFiles, loadModel, saveModel } from './checkpoint.js';
import { tinyConfig } from '../__fixtures__/test-configs.js';

// kill -9 at random points of a checkpoint save, then load: the checkpoint is the old one or the
// new one, every time. The child process commits the exact files `saveModel` writes
// (`encodeModelFiles`) through the same `writeDirectoryAtomic`, bundled from source with esbuild
// so that each of the 50+ children starts in tens of milliseconds instead of loading TensorFlow.js.

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
    const writer = join(workspace, 'writer.mjs');
    await build({
      entryPoints: [fileURLToPath(new URL('../../../core/src/atomic-directory.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: writer,
      logLevel: 'silent',
    });
    const models = [1, 2].map((seed) => LlamaModel.create(runtime, { ...tinyConfig, feedForwardSize: 256 }, { seed, initializerRange: 0.1 }));
    const references = models.map((model) => new Map([...model.exportWeights()].map(([name, weight]) => [name, weight.data])));
    const states = models.map((model) => Object.fromEntries([...encodeModelFiles(model)].map(([name, bytes]) => [name, Buffer.from(bytes).toString('base64')])));
    await writeFile(join(workspace, 'states.json'), JSON.stringify(states));
    const target = join(workspace, 'checkpoint');
    await saveModel(models[1]!, target);
    for (const model of models) model.dispose();
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
    const tensors = runtime.tf.memory().numTensors;
    const seen = [0, 0];
    let interrupted = 0;
    for (let attempt = 0; attempt < 60; attempt++) {
      const process_ = spawn(process.execPath, [child, target, join(workspace, 'states.json'), String(attempt)], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => process_.stdout.once('data', () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
      process_.kill('SIGKILL');
      await new Promise((resolve) => process_.once('exit', resolve));
      if ((await readdir(target)).some((entry) => entry.startsWith('.'))) interrupted++;
      const model = await loadModel(runtime, target);
      const weights = model.exportWeights();
      model.dispose();
      const which = references.findIndex((reference) => [...reference].every(([name, data]) => weights.get(name)!.data.every((value, index) => value === data[index])));
      expect(which, `attempt ${attempt}`).toBeGreaterThanOrEqual(0);
      seen[which]!++;
    }
    expect(runtime.tf.memory().numTensors).toBe(tensors);
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[1]).toBeGreaterThan(0);
    expect(interrupted).toBeGreaterThan(0);
    await writeDirectoryAtomic(target, new Map([['notes.txt', 'swept']]));
    expect((await readdir(target)).filter((entry) => entry.startsWith('.'))).toEqual([]);
  }, 60_000);
});
