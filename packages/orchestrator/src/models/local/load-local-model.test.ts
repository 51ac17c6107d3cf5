import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseModelDirectory } from '@codestack/model-base';
import { createRuntime, loadModel } from '@codestack/runtime';
import { loadCompactVocabulary } from '@codestack/tokenizer';
import { generateText as aiGenerateText, streamText as aiStreamText } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCodestack } from './codestack-provider.js';
import { generateCode } from '../../generate-code/generate-code.js';
import { createLocalLanguageModel } from './local-language-model.js';
import { loadBundledModel, loadLocalModel, type LoadedLocalModel } from './load-local-model.js';

let bundled: LoadedLocalModel;
let directory: string;

beforeAll(async () => {
  bundled = await loadBundledModel();
  directory = await mkdtemp(join(tmpdir(), 'codestack-load-'));
}, 60000);

afterAll(async () => {
  bundled.dispose();
  await rm(directory, { recursive: true, force: true });
});

describe('loadLocalModel and loadBundledModel', { timeout: 60000 }, () => {
  it('loads the bundled model in one call, carrying its window, limits, end-of-sequence id and tokenizer', () => {
    expect(bundled.modelId).toBe('codestack-base-1m');
    expect(bundled.contextTokens).toBe(256);
    expect(bundled.maxOutputTokens).toBe(255);
    expect(bundled.endOfSequenceIds).toEqual([2]);
    expect(bundled.tokenizer.encodingName).toMatch(/^compact-/);
  });

  it('generate needs no tokenizer and no budget options: every default derives from the model', async () => {
    const { result } = generateCode({ task: 'Write add(a, b).', model: bundled });
    const outcome = await result;
    expect(outcome.attempts).toHaveLength(1);
    expect(outcome.usage.outputTokens).toBeGreaterThan(0);
    expect(outcome.usage.outputTokens).toBeLessThanOrEqual(96);
  });

  it('the issue\'s hand-built model: createLocalLanguageModel({ model, tokenizer }) with generate and no budget', async () => {
    const runtime = await createRuntime();
    const model = await loadModel(runtime, baseModelDirectory);
    try {
      const tokenizer = await loadCompactVocabulary(join(baseModelDirectory, 'vocabulary.json'));
      const { result } = generateCode({ task: 'Write add(a, b).', model: createLocalLanguageModel({ model, tokenizer }), tokenizer });
      expect((await result).attempts).toHaveLength(1);
    } finally {
      model.dispose();
    }
  });

  it('an error caused by a default names the default', async () => {
    const runtime = await createRuntime();
    const model = await loadModel(runtime, baseModelDirectory);
    try {
      const tokenizer = await loadCompactVocabulary(join(baseModelDirectory, 'vocabulary.json'));
      const local = createLocalLanguageModel({ model, tokenizer, defaultMaximumOutputTokens: 300 });
      await expect(local.doGenerate({ prompt: 'x' })).rejects.toThrow(/defaultMaximumOutputTokens/);
      const { result } = generateCode({ task: 'Write add(a, b).', model: local, maxOutputTokens: 400 });
      await expect(result).rejects.toThrow(/\[1, 255\].*context window is 256 tokens, from the context window model codestack-local reports/);
    } finally {
      model.dispose();
    }
  });

  it('names the directory and the files it expected', async () => {
    const missing = join(directory, 'nope');
    await expect(loadLocalModel(missing)).rejects.toMatchObject({ code: 'MISSING_FILE', message: expect.stringMatching(/nope.*config\.json and model\.safetensors/) });
    await expect(loadLocalModel(directory)).rejects.toThrow(`${directory} is not a model checkpoint: config.json and model.safetensors are missing`);
  });
});

describe('createCodestack, an AI SDK provider', { timeout: 60000 }, () => {
  const codestack = createCodestack();

  it("works with the ai package's real generateText in one line", async () => {
    const result = await aiGenerateText({ model: codestack('codestack-base-1m'), prompt: 'export function add(a, b) {', maxOutputTokens: 5, temperature: 0 });
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBeLessThanOrEqual(5);
    expect(typeof result.text).toBe('string');
  });

  it("works with the ai package's real streamText, with a system message, and a bundled adapter", async () => {
    const streamed = aiStreamText({ model: codestack('codestack-base-1m', { adapter: 'rxjs' }), system: 'You write TypeScript.', prompt: "import { map } from 'rxjs';", maxOutputTokens: 6, temperature: 0 });
    let text = '';
    for await (const delta of streamed.textStream) text += delta;
    expect(text).toBe(await streamed.text);
    expect((await streamed.usage).outputTokens).toBeGreaterThan(0);
  });

  it('an unknown model id fails on the first call, naming the known ones', async () => {
    await expect(aiGenerateText({ model: codestack('no-such-model'), prompt: 'x', maxRetries: 0 })).rejects.toThrow(/known: codestack-base-1m/);
    expect(() => codestack.embeddingModel('x')).toThrow(/language models only/);
  });
});
