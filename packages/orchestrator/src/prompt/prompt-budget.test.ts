import { join } from 'node:path';
import type { Tokenizer } from '@codestack/core';
import { baseModelDirectory } from '@codestack/model-base';
import { getTokenizer, loadCompactVocabulary } from '@codestack/tokenizer';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildChatPrompt, renderChatPrompt } from './chat-template.js';
import { allocatePromptBudget, promptPartsOf, type PromptBudget } from './prompt-budget.js';
import { PromptTooLongError } from './prompt-too-long-error.js';

const tokenizer = getTokenizer('cl100k_base');
const documents = [
  { id: 'best', score: 3, text: 'const best = 1;\n'.repeat(30) },
  { id: 'worst', score: 1, text: 'const worst = 2;\n'.repeat(30) },
];
/** The tokens of the prompt the local models receive for a budget. */
const renderedTokens = (budget: PromptBudget, counter: Tokenizer = tokenizer): number => counter.encode(renderChatPrompt(buildChatPrompt(promptPartsOf(budget)))).length;

describe('allocatePromptBudget', () => {
  it('keeps everything when it fits, and reports the rendered prompt\'s tokens', () => {
    const budget = allocatePromptBudget({ tokenizer, contextTokens: 4000, reservedOutputTokens: 100, system: 'sys', documents, context: 'ctx', instruction: 'do it' });
    expect(budget.dropped).toEqual([]);
    expect(budget.truncated).toEqual([]);
    expect(budget.documents.map((document) => document.id)).toEqual(['best', 'worst']);
    expect(budget.usedTokens).toBe(renderedTokens(budget));
    expect(budget.availableTokens).toBe(3900);
  });

  it('drops and cuts the lowest-ranked documents first and reports it', () => {
    const budget = allocatePromptBudget({ tokenizer, contextTokens: 250, reservedOutputTokens: 100, system: 'You write code.', documents, context: 'let a = 1;\nlet b = 2;\n', instruction: 'Write c.' });
    expect(budget.dropped).toContain('document:worst');
    expect(budget.system).toBe('You write code.');
    expect(budget.context).toBe('let a = 1;\nlet b = 2;\n');
    expect(budget.usedTokens).toBeLessThanOrEqual(150);
    expect(budget.usedTokens).toBe(renderedTokens(budget));
    expect(budget.documents[0]?.id).toBe('best');
    expect(budget.truncated).toContain('document:best');
  });

  it('counts the default system prompt, headings and chat template, which the parts alone leave out', () => {
    // The parts alone take 150 - 2 tokens; rendered, they do not fit without a cut.
    const context = Array.from({ length: 100 }, (_, index) => `f${index}();\n`).join('');
    const budget = allocatePromptBudget({ tokenizer, contextTokens: 250, reservedOutputTokens: 100, context, instruction: 'Call g.' });
    expect(renderedTokens(budget)).toBeLessThanOrEqual(150);
    expect(budget.usedTokens).toBe(renderedTokens(budget));
    expect(budget.truncated).toEqual(['context']);
    expect(budget.system.length).toBeGreaterThan(0);
  });

  it('keeps the end of a long context', () => {
    const context = Array.from({ length: 200 }, (_, index) => `line${index}();\n`).join('');
    const budget = allocatePromptBudget({ tokenizer, contextTokens: 150, reservedOutputTokens: 50, context, instruction: 'go' });
    expect(budget.context.endsWith('line199();\n')).toBe(true);
    expect(budget.context.startsWith('line0();')).toBe(false);
    expect(budget.truncated).toEqual(['context']);
  });

  it('fits a repair turn, cutting the previous answer before the feedback', () => {
    const answer = '```ts\n' + 'const x: number = "a";\n'.repeat(40) + '```';
    const budget = allocatePromptBudget({ tokenizer, contextTokens: 256, reservedOutputTokens: 96, context: 'const limit = 10;\n', instruction: 'Write x.', repair: { answer, feedback: 'Fix the type error.' } });
    expect(budget.usedTokens).toBeLessThanOrEqual(160);
    expect(budget.usedTokens).toBe(renderedTokens(budget));
    expect(budget.repair?.feedback).toBe('Fix the type error.');
    expect(budget.truncated).toContain('repair-answer');
  });

  it('measures with the model\'s own count when given one', () => {
    const budget = allocatePromptBudget({ tokenizer, contextTokens: 100, reservedOutputTokens: 10, context: 'let a = 1;\n'.repeat(40), instruction: 'go', measure: (parts) => 2 * tokenizer.countTokens(renderChatPrompt(buildChatPrompt(parts))) });
    expect(budget.usedTokens).toBeLessThanOrEqual(90);
    expect(budget.usedTokens).toBe(2 * renderedTokens(budget));
  });

  it('refuses an instruction that cannot fit with a typed error naming the sizes', () => {
    const call = (): PromptBudget => allocatePromptBudget({ tokenizer, contextTokens: 10, reservedOutputTokens: 8, instruction: 'a long instruction that needs many tokens' });
    expect(call).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'prompt', contextTokens: 10, reservedOutputTokens: 8 }));
    expect(call).toThrow(PromptTooLongError);
  });
});

/** Random text: code lines, unicode of every plane, or both. */
const text = (maximumLength: number): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength: maximumLength, size: 'max' }),
    fc.string({ unit: 'grapheme', maxLength: maximumLength, size: 'max' }),
    fc
      .array(fc.constantFrom('const a = 1;', '  return x + y;', '}', 'export function f(x: number): string {', '// ünïcödé 🚀 文字', '\t\tif (a) {', '', '### User', '*/'), { maxLength: maximumLength / 8, size: 'max' })
      .map((lines) => lines.join('\n')),
  );

const promptCase = fc.record({
  system: fc.option(text(400), { nil: undefined }),
  documents: fc.array(fc.record({ id: fc.string({ minLength: 1, maxLength: 12 }), score: fc.double({ noNaN: true }), text: text(1200) }), { maxLength: 4, size: 'max' }),
  context: fc.option(text(3000), { nil: undefined }),
  instruction: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 120 }),
  contextTokens: fc.integer({ min: 64, max: 4096 }),
  reservedShare: fc.double({ min: 0, max: 0.9, noNaN: true }),
});

describe('allocatePromptBudget property: the rendered prompt never exceeds the window less the reserved output', () => {
  const tokenizers: Record<string, Tokenizer> = {};
  beforeAll(async () => {
    tokenizers['the bundled model\'s compact vocabulary'] = await loadCompactVocabulary(join(baseModelDirectory, 'vocabulary.json'));
    tokenizers['o200k_base'] = getTokenizer('o200k_base');
  });

  for (const name of ['the bundled model\'s compact vocabulary', 'o200k_base']) {
    it(`with ${name}`, { timeout: 120000 }, () => {
      const model = tokenizers[name]!;
      fc.assert(
        fc.property(promptCase, (input) => {
          const reservedOutputTokens = Math.floor(input.contextTokens * input.reservedShare);
          const available = input.contextTokens - reservedOutputTokens;
          try {
            const budget = allocatePromptBudget({ ...input, tokenizer: model, reservedOutputTokens });
            const rendered = renderedTokens(budget, model);
            expect(rendered).toBeLessThanOrEqual(available);
            expect(budget.usedTokens).toBe(rendered);
            expect(budget.instruction).toBe(input.instruction);
          } catch (error) {
            if (!PromptTooLongError.isInstance(error)) throw error;
            // Refused only when the instruction alone, rendered, does not fit.
            expect(model.encode(renderChatPrompt(buildChatPrompt({ system: '', instruction: input.instruction }))).length).toBeGreaterThan(available);
          }
        }),
        { numRuns: 60, seed: 13 },
      );
    });
  }
});
