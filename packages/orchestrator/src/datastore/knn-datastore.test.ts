import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { AbortedError, FileFormatError, type Tokenizer } from '@codestack/core';
import { createRuntime, float32ToFloat16Bits, KnnLogitsProcessor, LlamaModel } from '@codestack/runtime';
import { knnDatastoreContentDigest } from './knn-call-options.js';
import { buildDatastore, datastoreBinding, defaultWindowFor, forEachWindow, loadDatastore, saveDatastore, weightsFingerprint, type DatastoreMetadata } from './knn-datastore.js';
import { characterModelConfig, characterTokenizer } from '../__fixtures__/character-model.js';

const config = characterModelConfig;
const texts = ['const add = (a, b) => a + b;\nconst sub = (a, b) => a - b;\n', 'export function twice(x) { return add(x, x); }\n'];
const directories: string[] = [];
afterAll(async () => Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true }))));

async function refusal(action: Promise<unknown>): Promise<FileFormatError> {
  const error = await action.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(FileFormatError.isInstance(error)).toBe(true);
  return error as FileFormatError;
}

describe('buildDatastore', () => {
  it('stores every position’s final hidden state (16-bit) with the next token, across overlapping windows, without leaking', async () => {
    const runtime = await createRuntime({ backend: 'cpu' });
    const { tf } = runtime;
    const model = LlamaModel.create(runtime, config, { seed: 1, initializerRange: 0.2 });
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const datastore = await buildDatastore({ model, tokenizer: characterTokenizer, texts, windowTokens: 16, onProgress: (update) => progress.push(update.entries) });
    expect(tf.memory().numTensors).toBe(before);
    const ids = texts.map((text) => characterTokenizer.encode(text));
    expect(datastore.size).toBe(ids.reduce((sum, row) => sum + row.length - 1, 0));
    expect(Array.from(datastore.values)).toEqual(ids.flatMap((row) => row.slice(1)));
    expect(progress).toEqual([ids[0]!.length - 1, datastore.size]);
    expect(datastore.metadata).toMatchObject({ format: 'codestack-knn-datastore', version: 1, dimension: 32, texts: 2, encoding: 'characters', weights: weightsFingerprint(model) });
    expect(datastore.bytesPerToken).toBe(32 * 2 + 4);
    // The first window's keys are the hidden states of one forward over its 16 tokens.
    const { logits, hiddenStates } = model.logitsWithHiddenStates([ids[0]!.slice(0, 16)]);
    const hidden = Float32Array.from(hiddenStates.dataSync());
    logits.dispose();
    hiddenStates.dispose();
    for (let position = 0; position < 15; position++) {
      const key = datastore.key(position);
      for (let index = 0; index < 32; index++) expect(Math.abs(key[index]! - hidden[position * 32 + index]!)).toBeLessThan(2e-3 * Math.max(1, Math.abs(hidden[position * 32 + index]!)));
    }
    // A stored key finds itself first, at distance 0, and the processor then favours its token.
    const [nearest] = datastore.search(datastore.key(7), 4);
    expect(nearest).toEqual({ token: datastore.values[7], distance: 0 });
    const row = new Float32Array(96);
    new KnnLogitsProcessor(datastore, { lambda: 0.9, k: 1 }).process(row, [], { hiddenState: datastore.key(7) });
    expect(row.indexOf(Math.max(...row))).toBe(datastore.values[7]);
    const controller = new AbortController();
    controller.abort();
    await expect(buildDatastore({ model, tokenizer: characterTokenizer, texts, signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('forEachWindow', () => {
  it('takes the keys from a forward without the output head (no window × vocabulary logits), the same hidden states, without leaking', async () => {
    const runtime = await createRuntime({ backend: 'cpu' });
    const { tf } = runtime;
    const model = LlamaModel.create(runtime, config, { seed: 4, initializerRange: 0.2 });
    const ids = characterTokenizer.encode(texts[0]!);
    const { logits, hiddenStates } = model.logitsWithHiddenStates([ids.slice(0, 16)]);
    const expected = Float32Array.from(hiddenStates.dataSync());
    logits.dispose();
    hiddenStates.dispose();
    const withLogits = vi.spyOn(model, 'logitsWithHiddenStates');
    const logitsOnly = vi.spyOn(model, 'logits');
    const before = tf.memory().numTensors;
    const windows: { hidden: Float32Array; nextTokens: number[] }[] = [];
    await forEachWindow(model, ids, 16, undefined, (hidden, nextTokens) => windows.push({ hidden: hidden.slice(), nextTokens }));
    expect(tf.memory().numTensors).toBe(before);
    expect(withLogits).not.toHaveBeenCalled();
    expect(logitsOnly).not.toHaveBeenCalled();
    expect(windows[0]!.nextTokens).toEqual(ids.slice(1, 16));
    expect(windows[0]!.hidden).toEqual(expected.subarray(0, 15 * config.hiddenSize));
    expect(windows.flatMap((window) => window.nextTokens)).toEqual(ids.slice(1));
    model.dispose();
  });

  it('defaults the window to 1,024 tokens, or the model’s context when shorter', () => {
    const withContext = (maximumContext: number): LlamaModel => ({ config: { ...config, maximumContext } }) as unknown as LlamaModel;
    expect(defaultWindowFor(withContext(32_768))).toBe(1024);
    expect(defaultWindowFor(withContext(64))).toBe(64);
  });
});

describe('saveDatastore / loadDatastore', () => {
  it('round-trips through a manifest-committed directory and refuses other weights, another tokenizer and damaged files', async () => {
    const runtime = await createRuntime({ backend: 'cpu' });
    const model = LlamaModel.create(runtime, config, { seed: 1, initializerRange: 0.2 });
    const other = LlamaModel.create(runtime, config, { seed: 2, initializerRange: 0.2 });
    const directory = await mkdtemp(join(tmpdir(), 'codestack-datastore-'));
    directories.push(directory);
    const datastore = await buildDatastore({ model, tokenizer: characterTokenizer, texts });
    await saveDatastore(datastore, directory);
    const onDisk = (await stat(join(directory, 'keys.f16'))).size + (await stat(join(directory, 'values.i32'))).size;
    expect(onDisk / datastore.size).toBe(datastore.bytesPerToken);
    expect(JSON.parse(await readFile(join(directory, 'codestack-manifest.json'), 'utf8')).files).toHaveProperty(['keys.f16']);

    const loaded = await loadDatastore(directory, { model, tokenizer: characterTokenizer });
    expect(Array.from(loaded.values)).toEqual(Array.from(datastore.values));
    expect(Array.from(loaded.keys)).toEqual(Array.from(datastore.keys));
    expect(loaded.search(datastore.key(3), 2)[0]).toEqual({ token: datastore.values[3], distance: 0 });
    // The content digest: read from the manifest on load, equal to hashing the saved datastore's bytes.
    expect(loaded.contentDigest).toMatch(/^sha256:[0-9a-f]{64}:[0-9a-f]{64}$/);
    expect(knnDatastoreContentDigest(datastore)).toBe(loaded.contentDigest);
    const rebuilt = await buildDatastore({ model, tokenizer: characterTokenizer, texts: texts.slice(1) });
    expect(knnDatastoreContentDigest(rebuilt)).not.toBe(loaded.contentDigest);

    const weights = await refusal(loadDatastore(directory, { model: other, tokenizer: characterTokenizer }));
    expect(weights.code).toBe('MISMATCHED_FILE');
    expect(weights.message).toContain('other weights');
    const shifted: Tokenizer = { ...characterTokenizer, encode: (text) => characterTokenizer.encode(text).map((id) => (id + 1) % 96) };
    expect((await refusal(loadDatastore(directory, { model, tokenizer: shifted }))).message).toContain('another tokenizer');

    await writeFile(join(directory, 'values.i32'), new Uint8Array(8));
    expect((await refusal(loadDatastore(directory, { model, tokenizer: characterTokenizer }))).code).toBe('CORRUPT_FILE');
    model.dispose();
    other.dispose();
  });

  it('refuses, with a FileFormatError before reading, files of the wrong size, non-finite keys and wrong-typed metadata', async () => {
    const runtime = await createRuntime({ backend: 'cpu' });
    const model = LlamaModel.create(runtime, config, { seed: 1, initializerRange: 0.2 });
    const metadata: DatastoreMetadata = { format: 'codestack-knn-datastore', version: 1, ...datastoreBinding(model, characterTokenizer), entries: 4, dimension: 32, texts: 1 };
    const keys = Uint16Array.from({ length: 4 * 32 }, (_, index) => float32ToFloat16Bits(Math.sin(index)));
    const values = Int32Array.from([1, 2, 3, 4]);
    const save = async (stored: { metadata: unknown; keys: Uint16Array; values: Int32Array; graphBytes?: () => Promise<Uint8Array | undefined> }): Promise<string> => {
      const directory = await mkdtemp(join(tmpdir(), 'codestack-datastore-fuzz-'));
      directories.push(directory);
      await saveDatastore(stored as Parameters<typeof saveDatastore>[0], directory);
      return directory;
    };
    const load = (directory: string): Promise<unknown> => loadDatastore(directory, { model, tokenizer: characterTokenizer });
    // The well-formed one loads.
    expect((await loadDatastore(await save({ metadata, keys, values }), { model, tokenizer: characterTokenizer })).size).toBe(4);

    // Keys for 40 entries where datastore.json says 4: refused from the manifest's size, before the read.
    const oversized = await refusal(load(await save({ metadata, keys: new Uint16Array(40 * 32), values })));
    expect(oversized.code).toBe('CORRUPT_FILE');
    expect(oversized.message).toContain(`at most ${4 * 32 * 2} expected`);
    // The same without a manifest (a foreign directory): refused from the file's size.
    const foreign = await save({ metadata, keys: new Uint16Array(40 * 32), values });
    await rm(join(foreign, 'codestack-manifest.json'));
    expect((await refusal(load(foreign))).message).toContain(`at most ${4 * 32 * 2} expected`);
    // Truncated keys, and too many values.
    expect((await refusal(load(await save({ metadata, keys: keys.slice(0, 3 * 32), values })))).message).toContain('does not hold 4 entries');
    expect((await refusal(load(await save({ metadata, keys, values: Int32Array.from([1, 2, 3, 4, 5]) })))).message).toContain('at most 16 expected');
    // A graph larger than any graph of 4 keys is not read.
    const hugeGraph = await refusal(load(await save({ metadata, keys, values, graphBytes: async () => new Uint8Array(4 << 20) })));
    expect(hugeGraph.message).toMatch(/at most \d+ expected/);

    // A NaN or an infinite key.
    for (const bits of [0x7e00, 0x7c00, 0xfc00]) {
      const poisoned = keys.slice();
      poisoned[2 * 32 + 5] = bits;
      const error = await refusal(load(await save({ metadata, keys: poisoned, values })));
      expect(error.code).toBe('CORRUPT_FILE');
      expect(error.message).toContain('key 2 holds a non-finite value');
    }

    // Wrong-typed or out-of-range metadata: a CORRUPT_FILE, never a TypeError.
    const badMetadata: unknown[] = [
      null,
      [],
      'codestack-knn-datastore',
      { ...metadata, weights: 5 },
      { ...metadata, weights: null },
      { ...metadata, encoding: { name: 'characters' } },
      { ...metadata, tokenizer: [] },
      { ...metadata, entries: '4' },
      { ...metadata, entries: 4.5 },
      { ...metadata, entries: -1 },
      { ...metadata, entries: 1e30 },
      { ...metadata, dimension: 0 },
      { ...metadata, dimension: null },
      { ...metadata, texts: undefined },
      { ...metadata, version: '1' },
    ];
    for (const candidate of badMetadata) {
      const error = await refusal(load(await save({ metadata: candidate, keys, values })));
      expect(error.code, JSON.stringify(candidate)).toBe('CORRUPT_FILE');
    }
    model.dispose();
  });
});
