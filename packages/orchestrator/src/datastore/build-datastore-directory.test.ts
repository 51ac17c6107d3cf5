import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AbortedError, FileFormatError, InvalidArgumentError } from '@codestack/core';
import { createRuntime, LlamaModel } from '@codestack/runtime';
import { buildDatastoreDirectory, datastoreCheckpointDirectory, type DatastoreSource } from './build-datastore-directory.js';
import { buildDatastore, loadDatastore } from './knn-datastore.js';
import { readDatastoreSources } from './datastore-sources.js';
import { characterModelConfig, characterTokenizer } from '../__fixtures__/character-model.js';

const config = characterModelConfig;
const sources: DatastoreSource[] = [
  { path: 'a.ts', text: 'export const add = (a: number, b: number) => a + b;\n' },
  { path: 'b.ts', text: 'export const sub = (a: number, b: number) => a - b;\nexport const neg = (a: number) => -a;\n' },
  { path: 'c.ts', text: 'import { add } from "./a";\nexport function twice(x: number) { return add(x, x); }\n' },
];
const directories: string[] = [];
afterAll(async () => Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true }))));

async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'codestack-datastore-build-'));
  directories.push(directory);
  return directory;
}

describe('buildDatastoreDirectory', () => {
  it('writes a datastore that loads and answers, the same as buildDatastore, and reports tokens and bytes per token', async () => {
    const runtime = await createRuntime({ backend: 'cpu' });
    const model = LlamaModel.create(runtime, config, { seed: 1, initializerRange: 0.2 });
    const out = join(await temporaryDirectory(), 'store');
    const before = runtime.tf.memory().numTensors;
    const progress: number[] = [];
    const report = await buildDatastoreDirectory({ model, tokenizer: characterTokenizer, sources, out, windowTokens: 24, onProgress: (update) => progress.push(update.texts) });
    expect(runtime.tf.memory().numTensors).toBe(before);
    expect(progress).toEqual([1, 2, 3]);
    const expectedEntries = sources.reduce((sum, source) => sum + characterTokenizer.encode(source.text).length - 1, 0);
    expect(report).toMatchObject({ out, entries: expectedEntries, texts: 3, bytesPerToken: 32 * 2 + 4, resumedTexts: 0 });
    expect(report.seconds).toBeGreaterThan(0);
    // The search graph is saved beside the keys, so a load reads it instead of rebuilding it.
    expect(report.graphBytesPerToken).toBeGreaterThan(32 * 4);
    expect(existsSync(join(out, 'graph.hnsw'))).toBe(true);
    const loaded = await loadDatastore(out, { model, tokenizer: characterTokenizer });
    const reference = await buildDatastore({ model, tokenizer: characterTokenizer, texts: sources.map((source) => source.text), windowTokens: 24 });
    expect(Array.from(loaded.values)).toEqual(Array.from(reference.values));
    expect(Array.from(loaded.keys)).toEqual(Array.from(reference.keys));
    expect(loaded.search(reference.key(10), 1)[0]).toEqual({ token: reference.values[10], distance: 0 });
    for (const entry of [0, 17, 40]) expect(loaded.search(reference.key(entry), 4)).toEqual(reference.search(reference.key(entry), 4));
    expect(existsSync(datastoreCheckpointDirectory(out))).toBe(false);
    model.dispose();
  });

  it('continues an aborted build from its checkpoint to the same datastore, and starts over for other sources', async () => {
    const runtime = await createRuntime({ backend: 'cpu' });
    const model = LlamaModel.create(runtime, config, { seed: 1, initializerRange: 0.2 });
    const out = join(await temporaryDirectory(), 'store');
    const controller = new AbortController();
    const aborted = await buildDatastoreDirectory({
      model,
      tokenizer: characterTokenizer,
      sources,
      out,
      windowTokens: 24,
      checkpointSeconds: 3600,
      signal: controller.signal,
      onProgress: (update) => update.texts === 2 && controller.abort(),
    }).catch((error: unknown) => error);
    expect(AbortedError.isInstance(aborted)).toBe(true);
    expect(existsSync(out)).toBe(false);
    expect((await readdir(datastoreCheckpointDirectory(out))).sort()).toEqual(['codestack-manifest.json', 'keys.f16', 'progress.json', 'values.i32']);

    const seen: number[] = [];
    const resumed = await buildDatastoreDirectory({ model, tokenizer: characterTokenizer, sources, out, windowTokens: 24, onProgress: (update) => seen.push(update.texts) });
    expect(resumed.resumedTexts).toBe(2);
    expect(seen).toEqual([3]);
    const fresh = join(await temporaryDirectory(), 'fresh');
    await buildDatastoreDirectory({ model, tokenizer: characterTokenizer, sources, out: fresh, windowTokens: 24 });
    const [left, right] = await Promise.all([loadDatastore(out, { model, tokenizer: characterTokenizer }), loadDatastore(fresh, { model, tokenizer: characterTokenizer })]);
    expect(Array.from(left.values)).toEqual(Array.from(right.values));
    expect(Array.from(left.keys)).toEqual(Array.from(right.keys));
    expect(existsSync(datastoreCheckpointDirectory(out))).toBe(false);

    // A checkpoint of other sources is not resumed from.
    const other = join(await temporaryDirectory(), 'other');
    const stop = new AbortController();
    await buildDatastoreDirectory({ model, tokenizer: characterTokenizer, sources, out: other, windowTokens: 24, signal: stop.signal, onProgress: () => stop.abort() }).catch(() => undefined);
    const changed = await buildDatastoreDirectory({ model, tokenizer: characterTokenizer, sources: [{ ...sources[0]!, text: `${sources[0]!.text}// edited\n` }, ...sources.slice(1)], out: other, windowTokens: 24 });
    expect(changed.resumedTexts).toBe(0);

    // Something else at <out>.partial is refused, not removed; a stale checkpoint's leftovers are replaced.
    const userOut = join(await temporaryDirectory(), 'mine');
    await mkdir(datastoreCheckpointDirectory(userOut));
    await writeFile(join(datastoreCheckpointDirectory(userOut), 'thesis.tex'), 'months of work\n');
    const refused = await buildDatastoreDirectory({ model, tokenizer: characterTokenizer, sources, out: userOut, windowTokens: 24 }).catch((error: unknown) => error);
    expect(InvalidArgumentError.isInstance(refused)).toBe(true);
    expect((refused as Error).message).toContain('is not a datastore build checkpoint');
    expect((refused as Error).message).toContain('thesis.tex');
    expect(existsSync(join(datastoreCheckpointDirectory(userOut), 'thesis.tex'))).toBe(true);
    expect(existsSync(userOut)).toBe(false);
    const fileOut = join(await temporaryDirectory(), 'file');
    await writeFile(datastoreCheckpointDirectory(fileOut), 'a file\n');
    expect(InvalidArgumentError.isInstance(await buildDatastoreDirectory({ model, tokenizer: characterTokenizer, sources, out: fileOut, windowTokens: 24 }).catch((error: unknown) => error))).toBe(true);
    // A damaged checkpoint (a staged copy and a progress.json without a manifest) is ours: replaced.
    const damagedOut = join(await temporaryDirectory(), 'damaged');
    await mkdir(datastoreCheckpointDirectory(damagedOut));
    await writeFile(join(datastoreCheckpointDirectory(damagedOut), 'progress.json'), 'null');
    await writeFile(join(datastoreCheckpointDirectory(damagedOut), `.keys.f16.${'0'.repeat(64)}.codestack-staged`), 'x');
    expect((await buildDatastoreDirectory({ model, tokenizer: characterTokenizer, sources, out: damagedOut, windowTokens: 24 })).resumedTexts).toBe(0);
    expect(existsSync(datastoreCheckpointDirectory(damagedOut))).toBe(false);

    // A datastore for other weights is refused.
    const otherWeights = LlamaModel.create(runtime, config, { seed: 2, initializerRange: 0.2 });
    const refusal = await loadDatastore(out, { model: otherWeights, tokenizer: characterTokenizer }).catch((error: unknown) => error);
    expect(FileFormatError.isInstance(refusal) && refusal.code).toBe('MISMATCHED_FILE');
    model.dispose();
    otherWeights.dispose();
  });
});

describe('readDatastoreSources', () => {
  it('reads a project without node_modules, dist or dot folders, an installed package by name, and refuses an unknown input', async () => {
    const project = await temporaryDirectory();
    await mkdir(join(project, 'src'), { recursive: true });
    await mkdir(join(project, 'dist'), { recursive: true });
    await mkdir(join(project, '.git'), { recursive: true });
    await mkdir(join(project, 'node_modules', 'left-pad-ish', 'lib'), { recursive: true });
    await writeFile(join(project, 'src', 'b.ts'), 'export const b = 2;\n');
    await writeFile(join(project, 'src', 'a.ts'), 'export const a = 1;\n');
    await writeFile(join(project, 'src', 'notes.md'), '# not code\n');
    await writeFile(join(project, 'dist', 'a.js'), 'export const a = 1;\n');
    await writeFile(join(project, '.git', 'hook.js'), 'x\n');
    await writeFile(join(project, 'node_modules', 'left-pad-ish', 'package.json'), '{"name":"left-pad-ish"}\n');
    await writeFile(join(project, 'node_modules', 'left-pad-ish', 'lib', 'index.d.ts'), 'export declare function leftPad(text: string): string;\n');
    const fromProject = await readDatastoreSources(['.'], { cwd: project });
    expect(fromProject.map((source) => source.path)).toEqual([join('src', 'a.ts'), join('src', 'b.ts')]);
    expect(fromProject[0]!.text).toBe('export const a = 1;\n');
    const fromPackage = await readDatastoreSources(['left-pad-ish'], { cwd: join(project, 'src') });
    expect(fromPackage.map((source) => source.path)).toEqual([join('left-pad-ish', 'lib', 'index.d.ts')]);
    const missing = await readDatastoreSources(['no-such-package-anywhere'], { cwd: project }).catch((error: unknown) => error);
    expect(FileFormatError.isInstance(missing) && missing.code).toBe('MISSING_FILE');
    // A file named on its own is capped at 1 MiB as walked files are (refused, not skipped), and must be a regular file.
    await writeFile(join(project, 'src', 'huge.js'), 'x'.repeat((1 << 20) + 1));
    await writeFile(join(project, 'src', 'edge.js'), 'x'.repeat(1 << 20));
    const huge = await readDatastoreSources([join('src', 'huge.js')], { cwd: project }).catch((error: unknown) => error);
    expect(InvalidArgumentError.isInstance(huge)).toBe(true);
    expect((huge as Error).message).toContain('1 MiB');
    expect((await readDatastoreSources([join('src', 'edge.js')], { cwd: project }))[0]!.text.length).toBe(1 << 20);
    expect((await readDatastoreSources(['.'], { cwd: project })).map((source) => source.path)).not.toContain(join('src', 'huge.js'));
    if (existsSync('/dev/zero')) expect(InvalidArgumentError.isInstance(await readDatastoreSources(['/dev/zero'], { cwd: project }).catch((error: unknown) => error))).toBe(true);
  });
});
