import { describe, expect, it, vi } from 'vitest';
import { createRuntime, LlamaModel } from '@codestack/runtime';
import { buildCompletionCases } from '../eval/completion-cases.js';
import { evaluateCompletion } from '../eval/evaluate-completion.js';
import { knnDatastoreMiddleware } from '../middleware/knn-datastore-middleware.js';
import { createLocalLanguageModel } from '../models/local/local-language-model.js';
import { wrapLanguageModel } from '../models/wrap-language-model.js';
import { buildContinuousCache, ContinuousCacheBuilder, ExactTokenDatastore } from './continuous-cache.js';
import { characterModelConfig, characterTokenizer } from '../__fixtures__/character-model.js';

const config = characterModelConfig;

describe('ExactTokenDatastore', () => {
  it('returns the k nearest keys by squared L2 distance, nearest first, as a full sort would', () => {
    let seed = 3;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const dimension = 8;
    const entries = 200;
    const keys = Float32Array.from({ length: entries * dimension }, random);
    const values = Int32Array.from({ length: entries }, (_, index) => index);
    const datastore = new ExactTokenDatastore(dimension, keys, values);
    const query = Float32Array.from({ length: dimension }, random);
    const all = [...values].map((entry) => ({ token: entry, distance: keys.subarray(entry * dimension, (entry + 1) * dimension).reduce((sum, value, index) => sum + (value - query[index]!) ** 2, 0) }));
    all.sort((left, right) => left.distance - right.distance);
    const found = datastore.search(query, 5);
    expect(found.map((neighbour) => neighbour.token)).toEqual(all.slice(0, 5).map((neighbour) => neighbour.token));
    for (const [index, neighbour] of found.entries()) expect(neighbour.distance).toBeCloseTo(all[index]!.distance, 4);
    expect(datastore.search(query, 500)).toHaveLength(entries);
    expect(new ExactTokenDatastore(dimension, new Float32Array(0), new Int32Array(0)).search(query, 3)).toEqual([]);
  });
});

describe('buildContinuousCache', () => {
  it('stores the hidden state of every position of the text it is given with its next token, over windows', async () => {
    const runtime = await createRuntime({ backend: 'cpu' });
    const model = LlamaModel.create(runtime, config, { seed: 4, initializerRange: 0.2 });
    const before = runtime.tf.memory().numTensors;
    const textBeforeCursor = 'const first = 1;\nconst second = first + 1;\nexport function total() { return first + second; }\n';
    const cache = await buildContinuousCache({ model, tokenizer: characterTokenizer, textBeforeCursor, windowTokens: 32 });
    expect(runtime.tf.memory().numTensors).toBe(before);
    const ids = characterTokenizer.encode(textBeforeCursor);
    // Longer than one window: the earlier part was run in windows, and every next token is stored once.
    expect(ids.length).toBeGreaterThan(64);
    expect(Array.from(cache.values)).toEqual(ids.slice(1));
    // A key is the hidden state of its position in its window: the first window's, from one forward pass.
    const { logits, hiddenStates } = model.logitsWithHiddenStates([ids.slice(0, 32)]);
    const hidden = Float32Array.from(hiddenStates.dataSync());
    logits.dispose();
    hiddenStates.dispose();
    expect(Array.from(cache.keys.subarray(0, 31 * 32))).toEqual(Array.from(hidden.subarray(0, 31 * 32)));
    expect(cache.search(hidden.subarray(5 * 32, 6 * 32), 1)[0]).toEqual({ token: ids[6], distance: 0 });

    const recent = await buildContinuousCache({ model, tokenizer: characterTokenizer, textBeforeCursor, maximumTokens: 20 });
    // At most the last 20 tokens, at least 15 (the start moves in steps of 5).
    expect(recent.size).toBeGreaterThanOrEqual(14);
    expect(recent.size).toBeLessThanOrEqual(19);
    expect(Array.from(recent.values)).toEqual(ids.slice(-recent.size));
    expect((await buildContinuousCache({ model, tokenizer: characterTokenizer, textBeforeCursor: '' })).size).toBe(0);
    expect(runtime.tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('ContinuousCacheBuilder', () => {
  it('reuses the previous windows of the same tokens, to exactly the cache a fresh build gives, and never keeps text past the new cursor', async () => {
    const runtime = await createRuntime({ backend: 'cpu' });
    const model = LlamaModel.create(runtime, config, { seed: 4, initializerRange: 0.2 });
    const file = Array.from({ length: 12 }, (_, index) => `export const value${index} = compute(${index}, "${'x'.repeat(index)}");\n`).join('');
    const builder = new ContinuousCacheBuilder();
    const same = async (text: string, reused: (entries: number) => void): Promise<void> => {
      const built = await builder.build({ model, tokenizer: characterTokenizer, textBeforeCursor: text, windowTokens: 32 });
      const fresh = await buildContinuousCache({ model, tokenizer: characterTokenizer, textBeforeCursor: text, windowTokens: 32 });
      expect(Array.from(built.cache.values)).toEqual(Array.from(fresh.values));
      expect(Array.from(built.cache.keys)).toEqual(Array.from(fresh.keys));
      reused(built.reusedEntries);
    };
    await same(file.slice(0, 300), (entries) => expect(entries).toBe(0));
    // Further down the file: the 9 whole windows of 32 tokens (stride 31) within the first 300 characters are reused.
    await same(file.slice(0, 520), (entries) => expect(entries).toBe(9 * 31));
    // Back up the file: only windows wholly before the new cursor are reused.
    await same(file.slice(0, 100), (entries) => expect(entries).toBe(3 * 31));
    await same(`// another file\n${file}`, (entries) => expect(entries).toBe(0));
    // Past the cap, a few characters further still reuse: the kept part starts at the same token.
    const long = `${file}${file.replaceAll('value', 'other')}`;
    expect(long.length).toBeGreaterThan(1020);
    const capped = async (text: string) => builder.build({ model, tokenizer: characterTokenizer, textBeforeCursor: text, windowTokens: 32, maximumTokens: 200 });
    // The cap of 200 keeps tokens from a start on a step of 50: 850 for both cursors.
    await capped(long.slice(0, 1010));
    const further = await capped(long.slice(0, 1020));
    expect(Array.from(further.cache.values)).toEqual(characterTokenizer.encode(long.slice(850, 1020)).slice(1));
    expect(further.reusedEntries).toBe(5 * 31);
    model.dispose();
  });
});

describe('the continuous cache of a completion', () => {
  it('holds no token of the file after the cursor: evaluateCompletion over a file whose last line has a member found nowhere before it', async () => {
    const runtime = await createRuntime({ backend: 'cpu' });
    const model = LlamaModel.create(runtime, { ...config, maximumContext: 128 }, { seed: 7, initializerRange: 0.2 });
    const local = createLocalLanguageModel({ model, tokenizer: characterTokenizer, modelId: 'tiny-characters' });
    const member = 'ZQJK_Vexed';
    const file = `const total = add(one, two);\nreturn total * factor;\nlet count = items.length;\nconfig.${member}(count);\n`;
    const sources = [{ path: 'a.ts', text: file }];
    // Tokens of the member that no earlier text has: a cache built from more than the text before a cursor would hold them.
    const beforeMember = characterTokenizer.encode(file.slice(0, file.indexOf(member)));
    const memberOnly = [...new Set(characterTokenizer.encode(member))].filter((id) => !beforeMember.includes(id));
    expect(memberOnly.length).toBeGreaterThanOrEqual(4);
    const cases = buildCompletionCases(sources, { casesPerFile: 4, minimumPrefixLines: 1 });
    expect(cases.length).toBeGreaterThanOrEqual(3);
    for (const testCase of cases) expect(testCase.prefix).not.toContain(member);
    // Every cache the local model builds, as the decode reads it.
    const built: Int32Array[] = [];
    const build = ContinuousCacheBuilder.prototype.build;
    const spy = vi.spyOn(ContinuousCacheBuilder.prototype, 'build').mockImplementation(async function (this: ContinuousCacheBuilder, options) {
      const result = await build.call(this, options);
      built.push(result.cache.values.slice());
      return result;
    });
    try {
      const wrapped = wrapLanguageModel({ model: local, middleware: knnDatastoreMiddleware({ cache: { lambda: 0.5, k: 4, temperature: 1 } }) });
      await evaluateCompletion({ model: wrapped, tokenizer: characterTokenizer, sources, cases, maximumPromptTokens: 120, maxOutputTokens: 4 });
    } finally {
      spy.mockRestore();
    }
    expect(built).toHaveLength(cases.length);
    for (const [index, values] of built.entries()) {
      // The cache is the case's own prefix, whole, and nothing of the member after it.
      expect(Array.from(values)).toEqual(characterTokenizer.encode(cases[index]!.prefix).slice(1));
      for (const id of memberOnly) expect(values.includes(id)).toBe(false);
    }
    model.dispose();
  });
});
