import { generateText as aiGenerateText, streamText as aiStreamText } from 'ai';
import { describe, expect, it } from 'vitest';
import { createTinyLocalModel } from '../__fixtures__/tiny-local-model.js';
import { fromAISDKLanguageModel, toAISDKLanguageModel } from './ai-sdk-interop.js';
import { generateText, streamText } from './generate-text.js';

describe('AI SDK interop with the real ai package', () => {
  it('serves our local model to ai.generateText', async () => {
    const local = await createTinyLocalModel();
    const ours = await generateText({ model: local, prompt: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Write sum.' }], maxOutputTokens: 5, seed: 4, temperature: 0.6 });
    const theirs = await aiGenerateText({ model: toAISDKLanguageModel(local), system: 'Be brief.', prompt: 'Write sum.', maxOutputTokens: 5, seed: 4, temperature: 0.6 });
    expect(theirs.text).toBe(ours.text);
    expect(theirs.finishReason).toBe('length');
    expect(theirs.usage.outputTokens).toBe(5);
    expect(theirs.usage.inputTokens).toBe(ours.usage.inputTokens);
  });

  it('serves our local model to ai.streamText', async () => {
    const local = await createTinyLocalModel();
    const ours = await generateText({ model: local, prompt: [{ role: 'user', content: 'Go.' }], maxOutputTokens: 6 });
    const result = aiStreamText({ model: toAISDKLanguageModel(local), prompt: 'Go.', maxOutputTokens: 6 });
    const deltas: string[] = [];
    for await (const delta of result.textStream) deltas.push(delta);
    expect(deltas.join('')).toBe(ours.text);
    expect(await result.finishReason).toBe('length');
  });

  it('accepts an AI SDK model as our backend, round-tripping what the model produced', async () => {
    const local = await createTinyLocalModel();
    const backend = fromAISDKLanguageModel(toAISDKLanguageModel(local));
    const options = { prompt: [{ role: 'user' as const, content: 'Loop.' }], maxOutputTokens: 4, seed: 9, temperature: 0.7 };
    expect(await generateText({ model: backend, ...options })).toEqual(await generateText({ model: local, ...options }));
    expect(await (await streamText({ model: backend, ...options })).text).toBe((await generateText({ model: local, ...options })).text);
  });

  it('warns about AI SDK features the model cannot use', async () => {
    const model = toAISDKLanguageModel(await createTinyLocalModel());
    const result = await model.doGenerate({ prompt: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }], maxOutputTokens: 2, presencePenalty: 1 });
    expect(result.warnings).toEqual([{ type: 'unsupported', feature: 'presencePenalty' }]);
  });
});
