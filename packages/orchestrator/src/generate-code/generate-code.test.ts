import { fileURLToPath } from 'node:url';
import { getTokenizer } from '@codestack/tokenizer';
import { AbortedError } from '@codestack/core';
import { describe, expect, it } from 'vitest';
import { createRecordingDocsRetriever } from '../__fixtures__/docs-retriever.js';
import { createScriptedModelTestDouble } from '../__fixtures__/scripted-model-test-double.js';
import { createTinyLocalModel } from '../__fixtures__/tiny-local-model.js';
import { renderDocuments } from '../prompt/render-documents.js';
import type { DocsIndexDocument } from '../retrieval/docs-index-retriever.js';
import { generateCode, type GenerateCodeEvent } from './generate-code.js';

const projectDirectory = fileURLToPath(new URL('../..', import.meta.url));
const tokenizer = getTokenizer('cl100k_base');
const validation = { language: 'typescript' as const, projectDirectory, tests: "import { strictEqual } from 'node:assert';\nstrictEqual(clamp(5, 0, 3), 3);\nstrictEqual(clamp(-1, 0, 3), 0);\n" };

describe('generateCode', () => {
  it('retrieves, prompts, validates, repairs with the diagnostics, and records every attempt', async () => {
    const model = createScriptedModelTestDouble([
      'Sure:\n```ts\nexport function clamp(value: number, low: number, high: number): string {\n  return Math.min(high, Math.max(low, value));\n}\n```',
      '```ts\nexport function clamp(value: number, low: number, high: number): number {\n  return Math.min(high, value);\n}\n```',
      '```ts\nexport function clamp(value: number, low: number, high: number): number {\n  return Math.min(high, Math.max(low, value));\n}\n```',
    ]);
    const retriever = await createRecordingDocsRetriever([{ id: 'math-clamp', text: 'clamp limits a number between low and high using Math.min and Math.max.' }]);
    const run = generateCode({ task: 'Write clamp(value, low, high) that limits a number.', model, tokenizer, retriever, minimumRelevance: 0, validation, maximumRepairRounds: 3 });
    const events: GenerateCodeEvent[] = [];
    for await (const event of run.events) events.push(event);
    const result = await run.result;
    expect(result.ok).toBe(true);
    expect(result.attempts).toHaveLength(3);
    expect(result.attempts.map((attempt) => attempt.validation?.ok)).toEqual([false, false, true]);
    expect(result.attempts[0]?.validation?.diagnostics[0]?.code).toBe(2322);
    expect(result.attempts[1]?.validation?.run?.status).toBe('failed');
    expect(result.code).toContain('Math.max(low, value)');
    expect(events.map((event) => event.type).filter((type) => type !== 'text-delta')).toEqual([
      'retrieval', 'prompt', 'validation', 'repair', 'prompt', 'validation', 'repair', 'prompt', 'validation', 'finish',
    ]);
    expect(events.filter((event) => event.type === 'text-delta' && event.attempt === 0).map((event) => (event as { delta: string }).delta).join('')).toBe(result.attempts[0]?.text);
    const repair = events.find((event) => event.type === 'repair') as { feedback: string };
    expect(repair.feedback).toContain('TS2322');
    expect(model.calls[1]?.prompt).toHaveLength(4);
    expect(JSON.stringify(model.calls[0]?.prompt)).toContain('[math-clamp]');
  });

  it("reports in its retrieval event what reached the prompt, what was irrelevant and what was over the documents' budget, with the prompt event's tokens", async () => {
    const task = 'Write clamp(value, low, high) that limits a number between low and high.';
    const retriever = await createRecordingDocsRetriever([
      { id: 'math-clamp', text: 'clamp limits a number between low and high. It takes the value, the low bound and the high bound, and returns the nearest number within them, using Math.min and Math.max.' },
      { id: 'math-min', text: 'min returns the smaller of two numbers, low or high. With no arguments it returns Infinity.' },
      { id: 'math-max', text: 'max returns the larger of a number and a limit. With no arguments it returns -Infinity.' },
      { id: 'string-pad', text: 'padStart pads a string with another string until it reaches a given length.' },
    ]);
    const ranked = ((await retriever.retrieve(task, { topK: 4 })) as DocsIndexDocument[]).sort((a, b) => b.relevance - a.relevance);
    expect(new Set(ranked.map((document) => document.relevance)).size).toBe(4);
    // The three most relevant clear the gate; the budget holds only the first one's compact form.
    const minimumRelevance = (ranked[2]!.relevance + ranked[3]!.relevance) / 2;
    const maximumDocumentTokens = tokenizer.countTokens(ranked[0]!.compact) + 1;
    const model = createScriptedModelTestDouble(['```ts\nexport const clamp = (v: number, l: number, h: number): number => Math.min(h, Math.max(l, v));\n```']);
    const run = generateCode({ task, model, tokenizer, retriever, minimumRelevance, maximumDocumentTokens });
    const events: GenerateCodeEvent[] = [];
    for await (const event of run.events) events.push(event);
    await run.result;
    const retrieval = events.find((event) => event.type === 'retrieval') as Extract<GenerateCodeEvent, { type: 'retrieval' }>;
    const prompt = events.find((event) => event.type === 'prompt') as Extract<GenerateCodeEvent, { type: 'prompt' }>;
    expect(retrieval.documents).toEqual([expect.objectContaining({ id: ranked[0]!.id, form: 'compact', tokens: tokenizer.countTokens(ranked[0]!.compact), relevance: ranked[0]!.relevance })]);
    expect(retrieval.irrelevant).toEqual([{ id: ranked[3]!.id, relevance: ranked[3]!.relevance, threshold: minimumRelevance, reason: expect.stringMatching(/^relevance \d\.\d{3} < threshold /) }]);
    expect(retrieval.overBudget.map((document) => document.id)).toEqual([ranked[1]!.id, ranked[2]!.id]);
    expect(retrieval.overBudget[0]!.reason).toMatch(/^compact form of \d+ tokens > 1 left of the documents' \d+$/);
    expect(retrieval.documentTokens).toBe(prompt.documentTokens);
    expect(retrieval.documentTokens).toBe(tokenizer.countTokens(renderDocuments([{ id: ranked[0]!.id, text: ranked[0]!.compact }], { layout: 'section' })));
    const sent = JSON.stringify(model.calls[0]?.prompt);
    expect(sent).toContain(`[${ranked[0]!.id}]`);
    for (const left of [ranked[1]!, ranked[2]!, ranked[3]!]) expect(sent).not.toContain(`[${left.id}]`);
  });

  it('stops after the repair rounds with ok false, against the real tiny local model', async () => {
    const run = generateCode({ task: 'Write clamp.', model: await createTinyLocalModel(), tokenizer, validation, maximumRepairRounds: 1, maxOutputTokens: 6, contextTokens: 256 });
    const result = await run.result;
    expect(result.ok).toBe(false);
    expect(result.attempts).toHaveLength(2);
    expect(result.usage.outputTokens).toBe(12);
  });

  it('is cancelled by its signal', async () => {
    const controller = new AbortController();
    controller.abort();
    const run = generateCode({ task: 'Write clamp.', model: createScriptedModelTestDouble(['x']), tokenizer, abortSignal: controller.signal });
    await expect(run.result).rejects.toSatisfy((error) => AbortedError.isInstance(error));
    await expect((async () => { for await (const _ of run.events) { /* drain */ } })()).rejects.toSatisfy((error) => AbortedError.isInstance(error));
  });

  it('is cancelled mid-stream, ending both the events and the result with AbortedError', async () => {
    const controller = new AbortController();
    const run = generateCode({ task: 'Write clamp.', model: await createTinyLocalModel(), tokenizer, maxOutputTokens: 40, contextTokens: 256, abortSignal: controller.signal });
    const seen: string[] = [];
    const drained = (async () => {
      for await (const event of run.events) {
        seen.push(event.type);
        if (event.type === 'text-delta') controller.abort();
      }
    })();
    await expect(run.result).rejects.toSatisfy((error) => AbortedError.isInstance(error));
    await expect(drained).rejects.toSatisfy((error) => AbortedError.isInstance(error));
    expect(seen).toContain('text-delta');
    expect(seen).not.toContain('finish');
  });

  it('refuses an empty task', () => {
    expect(() => generateCode({ task: ' ', model: createScriptedModelTestDouble([]), tokenizer })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'task' }));
  });
});

describe('generateCode with the bundled model (256-token window)', { timeout: 120000 }, () => {
  it('reports as usedTokens exactly the prompt tokens the model receives, within the window less the output, and reports the cuts', async () => {
    const { loadBundledModel } = await import('../models/local/load-local-model.js');
    const model = await loadBundledModel();
    try {
      const retriever = await createRecordingDocsRetriever([
        { id: 'math-clamp', text: 'clamp(value: number, low: number, high: number): number\nLimits a number between low and high using Math.min and Math.max.' },
        { id: 'math-round', text: 'round(value: number): number\nRounds to the nearest integer.' },
      ]);
      const context = Array.from({ length: 60 }, (_, index) => `export const limit${index} = ${index * 7};`).join('\n');
      const run = generateCode({ task: 'Write clamp(value, low, high) that limits a number.', model, retriever, context, validation: { language: 'typescript', projectDirectory }, maximumRepairRounds: 1 });
      const events: GenerateCodeEvent[] = [];
      for await (const event of run.events) events.push(event);
      const result = await run.result;
      const prompts = events.filter((event) => event.type === 'prompt');
      expect(prompts.length).toBe(result.attempts.length);
      const reservedOutputTokens = 96;
      for (const [index, prompt] of prompts.entries()) {
        // What the local model really encoded: its usage counts the ids it was given.
        expect(prompt.usedTokens).toBe(result.attempts[index]!.usage.inputTokens);
        expect(prompt.usedTokens).toBe(model.countPromptTokens(prompt.messages));
        expect(prompt.usedTokens).toBeLessThanOrEqual(256 - reservedOutputTokens);
      }
      // The long context cannot fit whole: it is cut from the start (or dropped), and that is reported.
      expect([...prompts[0]!.truncated, ...prompts[0]!.dropped]).toContain('context');
      const user = prompts[0]!.messages.find((message) => message.role === 'user')!.content;
      expect(user).not.toContain('export const limit0 = 0;');
      expect(user).toContain('Write clamp(value, low, high) that limits a number.');
    } finally {
      model.dispose();
    }
  });
});
