import type { LanguageModelCallOptions } from '@codestack/core';
import { describe, expect, it } from 'vitest';
import { createTinyLocalModel } from '../__fixtures__/tiny-local-model.js';
import { generateText, streamText } from './generate-text.js';
import { wrapLanguageModel, type LanguageModelMiddleware } from './wrap-language-model.js';

describe('wrapLanguageModel', () => {
  it('lets the first middleware see the input first and the result last', async () => {
    const log: string[] = [];
    const layer = (name: string): LanguageModelMiddleware => ({
      async transformParams({ params }) {
        log.push(`${name}:params`);
        return { ...params, stopSequences: [...(params.stopSequences ?? []), name] };
      },
      async wrapGenerate({ doGenerate, params }) {
        log.push(`${name}:before:${params.stopSequences?.join(',')}`);
        const result = await doGenerate();
        log.push(`${name}:after`);
        return { ...result, text: `${result.text}|${name}` };
      },
    });
    const base = await createTinyLocalModel();
    let seen: LanguageModelCallOptions | undefined;
    const spy: LanguageModelMiddleware = { async transformParams({ params }) { seen = params; return params; } };
    const model = wrapLanguageModel({ model: base, middleware: [layer('a'), layer('b'), spy] });
    const result = await generateText({ model, prompt: 'x', maxOutputTokens: 2 });
    expect(log).toEqual(['a:params', 'a:before:a', 'b:params', 'b:before:a,b', 'b:after', 'a:after']);
    expect(seen?.stopSequences).toEqual(['a', 'b']);
    expect(result.text.endsWith('|b|a')).toBe(true);
    expect(model.modelId).toBe(base.modelId);
  });

  it('keeps the limits and tokenizer the model reports, so generate derives its defaults through middleware', async () => {
    const base = await createTinyLocalModel();
    const model = wrapLanguageModel({ model: base, middleware: [{}, {}] });
    expect(base.contextTokens).toBeGreaterThan(0);
    expect(model.contextTokens).toBe(base.contextTokens);
    expect(model.maxOutputTokens).toBe(base.maxOutputTokens);
    expect(model.endOfSequenceIds).toEqual(base.endOfSequenceIds);
    expect(model.tokenizer).toBe(base.tokenizer);
  });

  it('passes streams through wrapStream', async () => {
    const model = wrapLanguageModel({
      model: await createTinyLocalModel(),
      middleware: {
        async wrapStream({ doStream }) {
          const { stream } = await doStream();
          return { stream: stream.pipeThrough(new TransformStream({ transform: (part, controller) => controller.enqueue(part.type === 'text-delta' ? { ...part, delta: part.delta.toUpperCase() } : part) })) };
        },
      },
    });
    const plain = await generateText({ model: await createTinyLocalModel(), prompt: 'y', maxOutputTokens: 3 });
    expect(await (await streamText({ model, prompt: 'y', maxOutputTokens: 3 })).text).toBe(plain.text.toUpperCase());
  });
});
