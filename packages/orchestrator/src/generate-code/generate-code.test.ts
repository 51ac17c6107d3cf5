import { fileURLToPath } from 'node:url';
import { getTokenizer } from '@codestack/tokenizer';
import { AbortedError } from '@codestack/core';
import { describe, expect, it } from 'vitest';
import { createRecordingDocsRetriever } from '../__fixtures__/docs-retriever.js';
import { createScriptedModelTestDouble } from '../__fixtures__/scripted-model-test-double.js';
import { createTinyLocalModel } from '../__fixtures__/tiny-local-model.js';
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
