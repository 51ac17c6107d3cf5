import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, type LanguageModelCallOptions, type Tokenizer } from '@codestack/core';
import { createRuntime, LlamaModel, type ModelConfig } from '@codestack/runtime';
import { buildDatastore, TokenDatastore } from '../datastore/knn-datastore.js';
import { defaultCacheSettings } from '../datastore/knn-defaults.js';
import { buildCompletionCases, type CompletionSource } from '../eval/completion-cases.js';
import { evaluateCompletion } from '../eval/evaluate-completion.js';
import { createLocalLanguageModel, type LocalLanguageModel } from '../models/local/local-language-model.js';
import { loadBundledModel, type LoadedLocalModel } from '../models/local/load-local-model.js';
import { OpenAICompatibleModel } from '../models/openai-compatible-model.js';
import { generateText, streamText } from '../models/generate-text.js';
import { wrapLanguageModel, type LanguageModelMiddleware } from '../models/wrap-language-model.js';
import { buildCodeCompletionPrompt } from '../prompt/completion-template.js';
import { cacheKey, cacheMiddleware, createMemoryCacheStore } from './cache-middleware.js';
import { knnDatastoreMiddleware } from './knn-datastore-middleware.js';

/** One token per printable ASCII character (space is 0), and 95 for a newline: decodes back to the text. */
const characterTokenizer: Tokenizer = {
  encodingName: 'characters',
  encode: (text) => [...text].map((character) => (character === '\n' ? 95 : Math.min(94, Math.max(0, character.charCodeAt(0) - 32)))),
  decode: (ids) => ids.map((id) => (id === 95 ? '\n' : String.fromCharCode(id + 32))).join(''),
  countTokens: (text) => [...text].length,
};
const config: ModelConfig = { vocabularySize: 96, hiddenSize: 32, layers: 2, attentionHeads: 4, keyValueHeads: 2, feedForwardSize: 64, maximumContext: 128, ropeTheta: 10000, normEpsilon: 1e-5, tiedEmbeddings: true };
// Short files: each fits the prompt budget whole, so a case's context is the one its keys were stored with.
const sources: CompletionSource[] = [
  { path: 'a.ts', text: 'const total = add(one, two);\nreturn total * factor;\n' },
  { path: 'b.ts', text: 'let count = items.length;\nwhile (count > 0) count--;\n' },
  { path: 'c.ts', text: 'import { join } from "path";\nconst full = join(root, name);\n' },
  { path: 'd.ts', text: 'export const limit = 10;\nif (size > limit) throw error;\n' },
];
const settings = { lambda: 0.5, k: 8, temperature: 1 };

let llama: LlamaModel;
let local: LocalLanguageModel;
let runtime: Awaited<ReturnType<typeof createRuntime>>;
beforeAll(async () => {
  runtime = await createRuntime({ backend: 'cpu' });
  llama = LlamaModel.create(runtime, config, { seed: 11, initializerRange: 0.2 });
  local = createLocalLanguageModel({ model: llama, tokenizer: characterTokenizer, modelId: 'tiny-characters' });
});
afterAll(() => llama.dispose());

/** Records, per call, the text before the cursor it carried and what the local model reported. */
function recorder(records: { textBeforeCursor: unknown; cacheEntries: unknown; datastoreEntries: unknown }[]): LanguageModelMiddleware {
  return {
    async wrapGenerate({ doGenerate, params }) {
      const result = await doGenerate();
      records.push({ textBeforeCursor: params.providerOptions?.codestack?.textBeforeCursor, cacheEntries: result.providerMetadata?.codestack?.knnCacheEntries, datastoreEntries: result.providerMetadata?.codestack?.knnDatastoreEntries });
      return result;
    },
  };
}

describe('knnDatastoreMiddleware', () => {
  it('lifts completion on the datastore’s own code, and a datastore with shuffled values scores worse (the lookup is not bypassed)', async () => {
    const datastore = await buildDatastore({ model: llama, tokenizer: characterTokenizer, texts: sources.map((source) => source.text) });
    // The same keys with the values permuted: a lookup that really runs now points at wrong tokens.
    const permutation = Array.from(datastore.values.keys()).map((index) => (index * 7 + 3) % datastore.size);
    const shuffled = await TokenDatastore.create(datastore.metadata, datastore.keys, Int32Array.from(permutation, (index) => datastore.values[index]!));
    expect(Array.from(shuffled.values)).not.toEqual(Array.from(datastore.values));
    const cases = buildCompletionCases(sources, { casesPerFile: 4, minimumPrefixLines: 1 });
    expect(cases.length).toBeGreaterThanOrEqual(8);
    const score = async (model: LocalLanguageModel | ReturnType<typeof wrapLanguageModel>) => {
      const report = await evaluateCompletion({ model, tokenizer: characterTokenizer, sources, cases, maximumPromptTokens: 96, maxOutputTokens: 32 });
      return report.results.filter((result) => result.exact).length;
    };
    const records: Parameters<typeof recorder>[0] = [];
    const base = await score(local);
    const real = await score(wrapLanguageModel({ model: local, middleware: [recorder(records), knnDatastoreMiddleware({ datastore, settings })] }));
    const wrong = await score(wrapLanguageModel({ model: local, middleware: knnDatastoreMiddleware({ datastore: shuffled, settings }) }));
    expect(records.every((record) => record.datastoreEntries === datastore.size && record.cacheEntries === 0)).toBe(true);
    expect(real).toBeGreaterThan(cases.length / 2);
    expect(real).toBeGreaterThan(base);
    expect(wrong).toBeLessThan(real);
  });

  it('builds the cache of an evaluation case from that case’s own prefix only, never the text after its cursor', async () => {
    const records: Parameters<typeof recorder>[0] = [];
    const cases = buildCompletionCases(sources, { casesPerFile: 2, minimumPrefixLines: 1 });
    expect(cases.length).toBeGreaterThanOrEqual(4);
    const model = wrapLanguageModel({ model: local, middleware: [recorder(records), knnDatastoreMiddleware({ cache: settings })] });
    await evaluateCompletion({ model, tokenizer: characterTokenizer, sources, cases, maximumPromptTokens: 96, maxOutputTokens: 8 });
    expect(records).toHaveLength(cases.length);
    for (const [index, testCase] of cases.entries()) {
      const record = records[index]!;
      expect(record.textBeforeCursor).toBe(testCase.prefix);
      expect(record.cacheEntries).toBe(Math.max(0, characterTokenizer.encode(testCase.prefix).length - 1));
      const file = sources.find((source) => source.path === testCase.path)!.text;
      expect(file.startsWith(testCase.prefix)).toBe(true);
      expect((record.textBeforeCursor as string).length).toBeLessThan(file.length);
    }
  });

  it('streams the same text it generates, keeps a knn value the caller set, and refuses a model without hidden states', async () => {
    const datastore = await buildDatastore({ model: llama, tokenizer: characterTokenizer, texts: sources.map((source) => source.text) });
    const model = wrapLanguageModel({ model: local, middleware: knnDatastoreMiddleware({ datastore, settings, cache: true }) });
    const call = { model, prompt: 'let count = items.', maxOutputTokens: 8, temperature: 0 };
    const before = runtime.tf.memory().numTensors;
    const generated = await generateText(call);
    const streamed = await streamText(call);
    expect(await streamed.text).toBe(generated.text);
    expect(runtime.tf.memory().numTensors).toBe(before);
    const remote = wrapLanguageModel({ model: new OpenAICompatibleModel({ baseURL: 'http://127.0.0.1:9/v1', modelId: 'remote' }), middleware: knnDatastoreMiddleware({ datastore }) });
    const refusal = await generateText({ model: remote, prompt: 'x' }).catch((error: unknown) => error);
    expect(InvalidArgumentError.isInstance(refusal)).toBe(true);
    expect((refusal as Error).message).toContain('hidden states');
    expect(() => knnDatastoreMiddleware({})).toThrow(InvalidArgumentError);
    const forged: LanguageModelCallOptions = { prompt: 'x', providerOptions: { codestack: { knn: { cache: settings } } } };
    await expect(local.doGenerate(forged)).rejects.toThrow(/createKnnCallOptions/);
  });

  it('gives two datastores of one model with as many entries different cache keys, and one datastore loaded twice the same', async () => {
    const datastore = await buildDatastore({ model: llama, tokenizer: characterTokenizer, texts: sources.map((source) => source.text) });
    // A rebuilt project: the same weights and entry count, other content.
    const rebuilt = await TokenDatastore.create(datastore.metadata, datastore.keys, Int32Array.from(datastore.values, (value) => (value + 1) % config.vocabularySize));
    const reloaded = await TokenDatastore.create(datastore.metadata, Uint16Array.from(datastore.keys), Int32Array.from(datastore.values));
    expect(rebuilt.metadata.weights).toBe(datastore.metadata.weights);
    expect(rebuilt.size).toBe(datastore.size);
    const call: LanguageModelCallOptions = { prompt: 'let count = items.', maxOutputTokens: 4, temperature: 0 };
    /** The call options and cache key the model sees below knnDatastoreMiddleware. */
    const seen = async (store: TokenDatastore): Promise<string> => {
      let key = '';
      const probe: LanguageModelMiddleware = {
        async transformParams({ params, model }) {
          key = cacheKey(model.provider, model.modelId, params);
          return params;
        },
      };
      await generateText({ model: wrapLanguageModel({ model: local, middleware: [knnDatastoreMiddleware({ datastore: store, settings }), probe] }), ...call });
      return key;
    };
    const [original, other, again] = [await seen(datastore), await seen(rebuilt), await seen(reloaded)];
    expect(other).not.toBe(original);
    expect(again).toBe(original);
    expect(await seen(datastore)).toBe(original);
    // A persistent cache inside the middleware misses for the rebuilt datastore instead of answering from the old one.
    const store = createMemoryCacheStore();
    const calls: string[] = [];
    const counter: LanguageModelMiddleware = {
      async wrapGenerate({ doGenerate, params }) {
        calls.push(params.prompt as string);
        return doGenerate();
      },
    };
    const cachedModel = (used: TokenDatastore) => wrapLanguageModel({ model: local, middleware: [knnDatastoreMiddleware({ datastore: used, settings }), cacheMiddleware({ store }), counter] });
    await generateText({ model: cachedModel(datastore), ...call });
    await generateText({ model: cachedModel(reloaded), ...call });
    expect(calls).toHaveLength(1);
    await generateText({ model: cachedModel(rebuilt), ...call });
    expect(calls).toHaveLength(2);
  });
});

describe('the continuous cache on the bundled model', () => {
  let bundled: LoadedLocalModel;
  beforeAll(async () => {
    bundled = await loadBundledModel();
  });
  afterAll(() => bundled.dispose());

  it('completes a member written earlier in the file, beyond the model’s window, which the model alone does not', async () => {
    const filler = Array.from({ length: 40 }, (_, index) => `export function helper${index}(value: number): number {\n  return value * ${index + 2} + ${index};\n}\n`).join('');
    const head = "import { readFile } from 'node:fs/promises';\n\nexport async function loadWorkspaceManifestChecksum(path: string): Promise<string> {\n  return (await readFile(path, 'utf8')).trim();\n}\n\nconst first = await loadWorkspaceManifestChecksum('a.json');\n";
    const prefix = `${head}${filler}const second = await loadWorkspace`;
    const { prompt } = await buildCodeCompletionPrompt({ prefix, tokenizer: bundled.tokenizer, maximumPromptTokens: 224 });
    // The name is beyond the window: only the cache can know it.
    expect(prompt).not.toContain('ManifestChecksum');
    const call = { prompt, maxOutputTokens: 8, temperature: 0, stopSequences: ['\n'], providerOptions: { codestack: { textBeforeCursor: prefix } } };
    const alone = await generateText({ model: bundled, ...call });
    // At the defaults chosen on the validation completions (λ 0.25, which served the first bundled
    // model here, is too weak for the retrained one: it writes 'Matchesu').
    const cached = await generateText({ model: wrapLanguageModel({ model: bundled, middleware: knnDatastoreMiddleware({ cache: defaultCacheSettings }) }), ...call });
    expect(alone.text.startsWith('Manifest')).toBe(false);
    expect(cached.text.startsWith('Manifest')).toBe(true);
    // Without the text before the cursor, the cache holds only the window, and the member is not found.
    const windowOnly = await generateText({ model: wrapLanguageModel({ model: bundled, middleware: knnDatastoreMiddleware({ cache: defaultCacheSettings }) }), ...call, providerOptions: {} });
    expect(windowOnly.text.startsWith('Manifest')).toBe(false);
  });
});
