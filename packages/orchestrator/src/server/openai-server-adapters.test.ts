import { createRuntime, LlamaModel } from '@codestack/runtime';
import { getTokenizer } from '@codestack/tokenizer';
import { Adapter, AdapterSet } from '@codestack/tuning';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adapterRoutingMiddleware } from '../middleware/adapter-routing-middleware.js';
import { generateText } from '../models/generate-text.js';
import { createLocalLanguageModel, type LocalLanguageModel } from '../models/local/local-language-model.js';
import { OpenAICompatibleModel } from '../models/openai-compatible-model.js';
import { wrapLanguageModel } from '../models/wrap-language-model.js';
import { createOpenAIServer, type OpenAIServer } from './openai-server.js';

const adapterNames = ['rxjs', 'vitest', 'zod'] as const;
let model: LocalLanguageModel;
let server: OpenAIServer;
let baseURL: string;
let backend = '';

beforeAll(async () => {
  const runtime = await createRuntime();
  backend = runtime.backend;
  const llama = LlamaModel.create(
    runtime,
    { vocabularySize: 100256, hiddenSize: 32, layers: 2, attentionHeads: 4, keyValueHeads: 2, feedForwardSize: 64, maximumContext: 128, ropeTheta: 10000, normEpsilon: 1e-5, tiedEmbeddings: true },
    { seed: 5 },
  );
  const adapters = new AdapterSet(llama);
  // Three LoRA adapters with large random B matrices, as if trained: each visibly changes the output.
  adapterNames.forEach((name, index) => {
    const seed = 21 + index;
    const adapter = Adapter.create(llama, { method: 'lora', r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj', 'o_proj'], layers: 'all' }, { seed, name });
    for (const [key, variable] of adapter.trainableVariables()) {
      if (key.includes('lora_B')) variable.assign(runtime.tf.randomNormal(variable.shape, 0, 2, 'float32', seed));
    }
    adapters.add(name, adapter);
  });
  model = createLocalLanguageModel({ model: llama, tokenizer: getTokenizer('cl100k_base'), modelId: 'codestack-tiny', adapters });
  // Served ids differ from the set's names for one adapter, as `--lora-modules rx=DIR` would.
  server = createOpenAIServer({ model, adapters: { rxjs: { adapter: 'rxjs', root: '/adapters/rxjs' }, vitest: 'vitest', 'zod-lora': 'zod' } });
  ({ url: baseURL } = await server.listen(0));
}, 120_000);

afterAll(async () => {
  await server?.close();
});

const client = (): OpenAI => new OpenAI({ apiKey: 'unused', baseURL, maxRetries: 0 });
const servedIds = ['codestack-tiny', 'rxjs', 'vitest', 'zod-lora'];

describe('createOpenAIServer serving adapters by name', () => {
  it('lists the base model and each adapter with the base as its parent, as vLLM does', async () => {
    const page = await client().models.list();
    expect(page.data.map((entry) => ({ id: entry.id, ...(entry as unknown as { parent: unknown; root: unknown }) }))).toMatchObject([
      { id: 'codestack-tiny', parent: null, root: 'codestack-tiny' },
      { id: 'rxjs', parent: 'codestack-tiny', root: '/adapters/rxjs' },
      { id: 'vitest', parent: 'codestack-tiny', root: 'vitest' },
      { id: 'zod-lora', parent: 'codestack-tiny', root: 'zod-lora' },
    ]);
    expect(await client().models.retrieve('vitest')).toMatchObject({ id: 'vitest', parent: 'codestack-tiny' });
  });

  it('answers 50 concurrent requests over three adapters and the base exactly as each alone', async () => {
    const prompt = (index: number): string => `export function task${index % 5}(value: number) {`;
    const ask = async (id: string, index: number): Promise<string> => {
      const body = { model: id, max_tokens: 8, temperature: 0 };
      if (index % 3 === 0) {
        const completion = await client().chat.completions.create({ ...body, messages: [{ role: 'user', content: prompt(index) }] });
        expect(completion.model).toBe(id);
        return completion.choices[0]!.message.content!;
      }
      if (index % 3 === 1) {
        const completion = await client().completions.create({ ...body, prompt: prompt(index) });
        expect(completion.model).toBe(id);
        return completion.choices[0]!.text;
      }
      const stream = await client().completions.create({ ...body, prompt: prompt(index), stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
      return text;
    };
    const requests = Array.from({ length: 50 }, (_, index) => ({ id: servedIds[index % 4 === 3 ? 0 : 1 + (index % 3)]!, index }));
    // Each (id, kind of request, prompt) alone first, one at a time.
    const alone = new Map<string, string>();
    for (const { id, index } of requests) {
      const key = `${id}|${index % 15}`;
      if (!alone.has(key)) alone.set(key, await ask(id, index));
    }
    // The adapters really differ: one prompt, four different answers.
    const oneEach: string[] = [];
    for (const id of servedIds) oneEach.push(await ask(id, 1));
    expect(new Set(oneEach).size).toBe(4);

    const latencies: number[] = [];
    const started = performance.now();
    const answers = await Promise.all(
      requests.map(async ({ id, index }) => {
        const begun = performance.now();
        const text = await ask(id, index);
        latencies.push(performance.now() - begun);
        return text;
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    answers.forEach((text, position) => {
      const { id, index } = requests[position]!;
      expect({ id, index, text }).toEqual({ id, index, text: alone.get(`${id}|${index % 15}`) });
    });
    latencies.sort((a, b) => a - b);
    // The figure docs/scaling-out.md quotes.
    console.log(`50 concurrent requests (8 tokens each) over 3 adapters + base, ${backend} backend: ${(50 / seconds).toFixed(1)} requests/s, p50 latency ${Math.round(latencies[24]!)} ms`);
  }, 300_000);

  it('answers an unknown adapter with 404 model_not_found, and accepts <base>:<adapter>', async () => {
    await expect(client().completions.create({ model: 'no-such-lora', prompt: 'x', max_tokens: 2 })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    await expect(client().models.retrieve('no-such-lora')).rejects.toMatchObject({ status: 404 });
    // The adapter's name inside the set is not a served id when it was served under another one.
    await expect(client().completions.create({ model: 'zod', prompt: 'x', max_tokens: 2 })).rejects.toMatchObject({ status: 404 });
    const body = { prompt: 'const x =', max_tokens: 4, temperature: 0 };
    const plain = await client().completions.create({ ...body, model: 'vitest' });
    const prefixed = await client().completions.create({ ...body, model: 'codestack-tiny:vitest' });
    expect(prefixed.choices[0]!.text).toBe(plain.choices[0]!.text);
  });

  it("lets adapterRoutingMiddleware({ mode: 'model-id' }) pick the adapter of an OpenAICompatibleModel by id", async () => {
    const remote = new OpenAICompatibleModel({ baseURL, modelId: 'codestack-tiny', maximumRetries: 0 });
    const routed = wrapLanguageModel({ model: remote, middleware: adapterRoutingMiddleware({ mode: 'model-id', routes: { streams: 'rxjs', schemas: 'codestack-tiny:zod-lora' } }) });
    const call = (taskTag?: string) => ({ prompt: 'function f() {', maxOutputTokens: 6, temperature: 0, ...(taskTag ? { providerOptions: { codestack: { taskTag } } } : {}) });
    const direct = async (id: string) => (await client().completions.create({ model: id, prompt: 'function f() {', max_tokens: 6, temperature: 0 })).choices[0]!.text;
    expect((await generateText({ model: routed, ...call('streams') })).text).toBe(await direct('rxjs'));
    expect((await generateText({ model: routed, ...call('schemas') })).text).toBe(await direct('zod-lora'));
    expect((await generateText({ model: routed, ...call('other') })).text).toBe(await direct('codestack-tiny'));
    // The same local model picks the same adapter by name through the default mode.
    const local = wrapLanguageModel({ model, middleware: adapterRoutingMiddleware({ routes: { streams: 'rxjs' } }) });
    expect((await generateText({ model: local, ...call('streams') })).text).toBe(await direct('rxjs'));
  });
});
