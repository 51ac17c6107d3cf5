import { createRuntime, LlamaModel } from '@codestack/runtime';
import { getTokenizer } from '@codestack/tokenizer';
import { Adapter, AdapterSet } from '@codestack/tuning';
import { beforeAll, describe, expect, it } from 'vitest';
import { createKnnCallOptions } from '../../datastore/knn-call-options.js';
import { createLocalLanguageModel } from './local-language-model.js';

const tokenizer = getTokenizer('cl100k_base');
let model: LlamaModel;
let adapters: AdapterSet;

beforeAll(async () => {
  const runtime = await createRuntime({ backend: 'wasm' });
  model = LlamaModel.create(
    runtime,
    { vocabularySize: 100256, hiddenSize: 32, layers: 3, attentionHeads: 4, keyValueHeads: 2, feedForwardSize: 64, maximumContext: 128, ropeTheta: 10000, normEpsilon: 1e-5, tiedEmbeddings: true },
    { seed: 3 },
  );
  adapters = new AdapterSet(model);
  // Two LoRA adapters whose B matrices are set to large random values, as if trained, so each
  // visibly changes what the model says (a fresh adapter, B = 0, changes nothing).
  for (const [name, seed] of [['python-style', 11], ['typescript-style', 12]] as const) {
    const adapter = Adapter.create(model, { method: 'lora', r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj', 'o_proj'], layers: 'all' }, { seed, name });
    for (const [key, variable] of adapter.trainableVariables()) {
      if (key.includes('lora_B')) variable.assign(model.runtime.tf.randomNormal(variable.shape, 0, 2, 'float32', seed));
    }
    adapters.add(name, adapter);
  }
});

const call = (adapter?: string) => ({
  prompt: 'export function add(a: number, b: number) {',
  maxOutputTokens: 12,
  ...(adapter === undefined ? {} : { providerOptions: { codestack: { adapter } } }),
});

describe('createLocalLanguageModel with adapters', () => {
  it('applies the adapter each request names, and the base model when none is named', async () => {
    const local = createLocalLanguageModel({ model, tokenizer, adapters });
    const base = (await local.doGenerate(call())).text;
    const python = (await local.doGenerate(call('python-style'))).text;
    const typescript = (await local.doGenerate(call('typescript-style'))).text;
    expect(new Set([base, python, typescript]).size).toBe(3);
    // Choosing is per request: the base answer is unchanged afterwards, and the set is left inactive.
    expect((await local.doGenerate(call())).text).toBe(base);
    expect(adapters.active).toBeUndefined();
    // The same result as running the runtime model directly with that adapter active.
    const plain = createLocalLanguageModel({ model, tokenizer });
    expect(await adapters.run('python-style', async () => (await plain.doGenerate(call())).text)).toBe(python);
  });

  it('keeps concurrent requests with different adapters apart, streams included', async () => {
    const local = createLocalLanguageModel({ model, tokenizer, adapters });
    const alone = {
      base: (await local.doGenerate(call())).text,
      python: (await local.doGenerate(call('python-style'))).text,
      typescript: (await local.doGenerate(call('typescript-style'))).text,
    };
    const streamed = async (adapter: string): Promise<string> => {
      const { stream } = await local.doStream(call(adapter));
      let text = '';
      for await (const part of stream) if (part.type === 'text-delta') text += part.delta;
      return text;
    };
    const [python, base, typescript, pythonStream] = await Promise.all([
      local.doGenerate(call('python-style')).then((result) => result.text),
      local.doGenerate(call()).then((result) => result.text),
      local.doGenerate(call('typescript-style')).then((result) => result.text),
      streamed('python-style'),
    ]);
    expect({ python, base, typescript }).toEqual(alone);
    expect(pythonStream).toBe(alone.python);
    expect(adapters.active).toBeUndefined();
  });

  it('refuses an unknown adapter, and any adapter on a model without adapters', async () => {
    const local = createLocalLanguageModel({ model, tokenizer, adapters });
    await expect(local.doGenerate(call('no-such-adapter'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const plain = createLocalLanguageModel({ model, tokenizer });
    await expect(plain.doGenerate(call('python-style'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const numTensors = model.runtime.tf.memory().numTensors;
    await local.doGenerate(call('typescript-style'));
    expect(model.runtime.tf.memory().numTensors).toBe(numTensors);
  });

  it('mixes a datastore into base-model requests only: an adapter request answers as without it, its continuous cache still applies', async () => {
    const local = createLocalLanguageModel({ model, tokenizer, adapters });
    const forced = tokenizer.encode(' zebra')[0]!;
    // λ 1 on a datastore whose every neighbour is one token: a request that uses it says only that token.
    const datastore = { size: 1, metadata: { weights: 'base' }, search: () => [{ token: forced, distance: 0 }] };
    const knn = createKnnCallOptions({ datastore: { datastore, settings: { lambda: 1, k: 1, temperature: 1 } } });
    const withDatastore = (adapter?: string) => ({ ...call(adapter), providerOptions: { codestack: { knn, ...(adapter === undefined ? {} : { adapter }) } } });
    const base = await local.doGenerate(call());
    const baseMixed = await local.doGenerate(withDatastore());
    expect(baseMixed.text).not.toBe(base.text);
    expect(baseMixed.text).toBe(tokenizer.decode(Array.from({ length: 12 }, () => forced)));
    expect(baseMixed.providerMetadata?.codestack?.knnDatastoreEntries).toBe(1);
    for (const name of ['python-style', 'typescript-style']) {
      const plain = await local.doGenerate(call(name));
      const mixed = await local.doGenerate(withDatastore(name));
      expect(mixed.text).toBe(plain.text);
      expect(mixed.providerMetadata?.codestack?.knnDatastoreEntries ?? 0).toBe(0);
    }
    const cached = createKnnCallOptions({ datastore: { datastore, settings: { lambda: 1, k: 1, temperature: 1 } }, cache: { lambda: 0.5, k: 4, temperature: 1 } });
    const adapterCached = await local.doGenerate({ ...call('python-style'), providerOptions: { codestack: { knn: cached, adapter: 'python-style' } } });
    expect(adapterCached.providerMetadata?.codestack?.knnDatastoreEntries).toBe(0);
    expect(adapterCached.providerMetadata?.codestack?.knnCacheEntries).toBeGreaterThan(0);
  });
});
