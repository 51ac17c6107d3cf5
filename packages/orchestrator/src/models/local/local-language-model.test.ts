import { describe, expect, it } from 'vitest';
import { createTinyLocalModel } from '../../__fixtures__/tiny-local-model.js';
import { generateText, streamText } from '../generate-text.js';
import { createLocalLanguageModel } from './local-language-model.js';
import { PromptTooLongError, renderChatPrompt } from '../../prompt/index.js';
import { createRuntime, LlamaModel } from '@codestack/runtime';
import { getTokenizer } from '@codestack/tokenizer';

describe('createLocalLanguageModel', () => {
  it('generates deterministically under a seed and streams the same text', async () => {
    const model = await createTinyLocalModel();
    const options = { model, prompt: 'function add(a, b) {', maxOutputTokens: 6, temperature: 0.8, seed: 3 };
    const first = await generateText(options);
    const second = await generateText(options);
    expect(first).toEqual(second);
    expect(first.usage.outputTokens).toBe(6);
    expect(first.finishReason).toBe('length');
    expect(first.text.length).toBeGreaterThan(0);
    const streamed = await streamText(options);
    const deltas: string[] = [];
    for await (const delta of streamed.textStream) deltas.push(delta);
    expect(deltas.join('')).toBe(first.text);
    expect(await streamed.usage).toEqual(first.usage);
  });

  it('renders chat prompts with the template', async () => {
    expect(renderChatPrompt([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }])).toBe('### System\nBe brief.\n\n### User\nHi\n\n### Assistant\n');
    const model = await createTinyLocalModel();
    const result = await generateText({ model, prompt: [{ role: 'user', content: 'Hi' }], maxOutputTokens: 3 });
    expect(result.usage.inputTokens).toBeGreaterThan(3);
  });

  it('counts a prompt as it receives it, and refuses a prompt too long for the window instead of cutting it', async () => {
    const model = await createTinyLocalModel();
    const messages = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Hi' }];
    const counted = model.countPromptTokens(messages);
    expect(counted).toBe(model.tokenizer.encode(renderChatPrompt(messages)).length);
    expect((await generateText({ model, prompt: messages, maxOutputTokens: 2 })).usage.inputTokens).toBe(counted);
    const long = 'const value = compute(1);\n'.repeat(60);
    const promptTokens = model.countPromptTokens(long);
    expect(promptTokens + 8).toBeGreaterThan(model.contextTokens);
    const error = await generateText({ model, prompt: long, maxOutputTokens: 8 }).catch((caught: unknown) => caught);
    expect(PromptTooLongError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'prompt', promptTokens, contextTokens: model.contextTokens, reservedOutputTokens: 8 });
    expect((error as Error).message).toContain(String(promptTokens));
  });

  it('refuses an output budget beyond the context', async () => {
    const model = await createTinyLocalModel();
    await expect(generateText({ model, prompt: 'x', maxOutputTokens: 10000 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'maxOutputTokens' });
  });

  it('builds a fill-in-the-middle prompt from the suffix option, and refuses one without sentinels', async () => {
    const runtime = await createRuntime();
    const llama = LlamaModel.create(runtime, { vocabularySize: 100256, hiddenSize: 16, layers: 1, attentionHeads: 2, keyValueHeads: 1, feedForwardSize: 32, maximumContext: 128, ropeTheta: 10000, normEpsilon: 1e-5, tiedEmbeddings: true }, { seed: 2 });
    const tokenizer = getTokenizer('cl100k_base');
    const sentinels = { prefix: '<PRE>', suffix: '<SUF>', middle: '<MID>' };
    const fim = createLocalLanguageModel({ model: llama, tokenizer, fillInTheMiddle: sentinels });
    const withSuffix = await fim.doGenerate({ prompt: 'function f(', providerOptions: { codestack: { suffix: ') {}' } }, maxOutputTokens: 2 });
    expect(withSuffix.usage.inputTokens).toBe(tokenizer.countTokens('<PRE>function f(<SUF>) {}<MID>'));
    const plain = createLocalLanguageModel({ model: llama, tokenizer });
    await expect(plain.doGenerate({ prompt: 'a', providerOptions: { codestack: { suffix: 'b' } } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
