import { mkdtemp, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFormatError } from '@codestack/core';
import { afterAll, describe, expect, it } from 'vitest';
import { tokenizerFileByteLimit } from './hugging-face-model-files.js';
import { loadHuggingFaceTokenizer } from './hugging-face-tokenizer.js';
import { modelDirectories } from './test-support.js';

const temporary: string[] = [];
afterAll(async () => {
  await Promise.all(temporary.map((directory) => rm(directory, { recursive: true, force: true })));
});

async function directoryWith(files: Record<string, string | Uint8Array>, realTokenizer = false): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'codestack-hf-files-'));
  temporary.push(directory);
  if (realTokenizer) await symlink(join(modelDirectories.qwen3, 'tokenizer.json'), join(directory, 'tokenizer.json'));
  for (const [name, content] of Object.entries(files)) await writeFile(join(directory, name), content);
  return directory;
}

async function refusal(directory: string): Promise<FileFormatError> {
  const error = await loadHuggingFaceTokenizer(directory).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(FileFormatError.isInstance(error), String(error)).toBe(true);
  return error as FileFormatError;
}

const tinyTokenizer = {
  model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2 }, merges: ['a b'] },
  added_tokens: [{ id: 3, content: '<eos>', special: true }],
  normalizer: null,
  pre_tokenizer: null,
  post_processor: null,
  decoder: null,
};

describe('model directory checks', () => {
  it('names the directory or the missing tokenizer.json and what was expected', async () => {
    const absent = join(tmpdir(), 'codestack-no-such-model-directory');
    const missingDirectory = await refusal(absent);
    expect(missingDirectory.code).toBe('MISSING_FILE');
    expect(missingDirectory.path).toBe(absent);
    const empty = await directoryWith({});
    const missingFile = await refusal(empty);
    expect(missingFile.code).toBe('MISSING_FILE');
    expect(missingFile.path).toBe(join(empty, 'tokenizer.json'));
    expect(missingFile.message).toMatch(/expected a Hugging Face tokenizer\.json/);
  });

  it('refuses a tokenizer.json over the size limit without reading it', async () => {
    const directory = await directoryWith({ 'tokenizer.json': '' });
    await truncate(join(directory, 'tokenizer.json'), tokenizerFileByteLimit + 1); // sparse: no disk used
    const error = await refusal(directory);
    expect(error.code).toBe('CORRUPT_FILE');
    expect(error.message).toMatch(/limit/);
  });

  it('refuses files that are not UTF-8, not JSON, or of the wrong shape', async () => {
    const cases: Record<string, string | Uint8Array>[] = [
      { 'tokenizer.json': Uint8Array.from([0x7b, 0xff, 0x7d]) },
      { 'tokenizer.json': '{"model": ' },
      { 'tokenizer.json': '[]' },
      { 'tokenizer.json': JSON.stringify({ ...tinyTokenizer, model: { type: 'BPE', vocab: { a: -1 }, merges: [] } }) },
      { 'tokenizer.json': JSON.stringify({ ...tinyTokenizer, model: { type: 'BPE', vocab: { a: 0 }, merges: [7] } }) },
      { 'tokenizer.json': JSON.stringify({ ...tinyTokenizer, added_tokens: [{ id: '3', content: '<eos>' }] }) },
      { 'tokenizer.json': JSON.stringify({ ...tinyTokenizer, decoder: 'ByteLevel' }) },
      { 'tokenizer.json': JSON.stringify(tinyTokenizer), 'tokenizer_config.json': '{"chat_template": 5}' },
      { 'tokenizer.json': JSON.stringify(tinyTokenizer), 'tokenizer_config.json': '{"chat_template": "{% for %}"}' },
    ];
    for (const files of cases) {
      const directory = await directoryWith(files);
      const error = await refusal(directory);
      expect(error.code).toBe('CORRUPT_FILE');
      expect([join(directory, 'tokenizer.json'), join(directory, 'tokenizer_config.json')]).toContain(error.path);
    }
    const unsupported = await refusal(await directoryWith({ 'tokenizer.json': JSON.stringify({ ...tinyTokenizer, model: { type: 'Magic', vocab: {} } }) }));
    expect(unsupported.code).toBe('MISMATCHED_FILE');
    const unknownEos = await refusal(await directoryWith({ 'tokenizer.json': JSON.stringify(tinyTokenizer), 'tokenizer_config.json': '{"eos_token": "</s>"}' }));
    expect(unknownEos.code).toBe('MISMATCHED_FILE');
  });

  it('loads a small tokenizer without tokenizer_config.json, and a chat_template.jinja beside it', async () => {
    const bare = await loadHuggingFaceTokenizer(await directoryWith({ 'tokenizer.json': JSON.stringify(tinyTokenizer) }));
    expect(bare.encode('abab')).toEqual([2, 2]);
    expect(bare.encode('ab<eos>', { parseSpecialTokens: true })).toEqual([2, 3]);
    expect(bare.chatTemplate).toBeUndefined();
    const templated = await loadHuggingFaceTokenizer(
      await directoryWith({ 'tokenizer.json': JSON.stringify(tinyTokenizer), 'chat_template.jinja': '{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}' }),
    );
    expect(templated.renderChatTemplate([{ role: 'user', content: 'ab' }])).toBe('[user]ab');
  });
});

describe('fuzzed tokenizer_config.json', () => {
  it('either refuses with a typed error or loads a tokenizer that encodes identically', async () => {
    const original = await readFile(join(modelDirectories.qwen3, 'tokenizer_config.json'));
    const reference = await loadHuggingFaceTokenizer(modelDirectories.qwen3);
    const sample = 'def f(x):\n    return x * 2  # ünïcode 😀 <|im_start|>';
    const expected = reference.encode(sample);
    // A fixed seed, so a failure reproduces.
    let seed = 12_345;
    const random = (limit: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % limit;
    };
    const variants: Uint8Array[] = [];
    for (let index = 0; index < 4; index++) variants.push(original.subarray(0, random(original.length)));
    for (let index = 0; index < 12; index++) {
      const flipped = Uint8Array.from(original);
      const position = random(flipped.length);
      flipped[position] = (flipped[position] as number) ^ (1 << random(8));
      variants.push(flipped);
    }
    const outcomes = { refused: 0, loaded: 0 };
    const directory = await directoryWith({}, true);
    for (const variant of variants) {
      await writeFile(join(directory, 'tokenizer_config.json'), variant);
      try {
        const loaded = await loadHuggingFaceTokenizer(directory);
        expect(loaded.encode(sample)).toEqual(expected);
        outcomes.loaded++;
      } catch (error) {
        expect(FileFormatError.isInstance(error), String(error)).toBe(true);
        outcomes.refused++;
      }
    }
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.refused + outcomes.loaded).toBe(variants.length);
  }, 120_000);
});
