import { getTokenizer } from '@codestack/tokenizer';
import { describe, expect, it } from 'vitest';
import { allocatePromptBudget } from './prompt-budget.js';

const tokenizer = getTokenizer('cl100k_base');
const documents = [
  { id: 'best', score: 3, text: 'const best = 1;\n'.repeat(30) },
  { id: 'worst', score: 1, text: 'const worst = 2;\n'.repeat(30) },
];

describe('allocatePromptBudget', () => {
  it('keeps everything when it fits', () => {
    const budget = allocatePromptBudget({ tokenizer, contextTokens: 4000, reservedOutputTokens: 100, system: 'sys', documents, context: 'ctx', instruction: 'do it' });
    expect(budget.dropped).toEqual([]);
    expect(budget.truncated).toEqual([]);
    expect(budget.documents.map((document) => document.id)).toEqual(['best', 'worst']);
  });

  it('drops and cuts the lowest-ranked documents first and reports it', () => {
    const budget = allocatePromptBudget({ tokenizer, contextTokens: 250, reservedOutputTokens: 100, system: 'You write code.', documents, context: 'let a = 1;\nlet b = 2;\n', instruction: 'Write c.' });
    expect(budget.dropped).toContain('document:worst');
    expect(budget.system).toBe('You write code.');
    expect(budget.context).toBe('let a = 1;\nlet b = 2;\n');
    expect(budget.usedTokens).toBeLessThanOrEqual(150);
    expect(budget.documents[0]?.id).toBe('best');
    expect(budget.truncated).toContain('document:best');
  });

  it('keeps the end of a long context', () => {
    const context = Array.from({ length: 200 }, (_, index) => `line${index}();\n`).join('');
    const budget = allocatePromptBudget({ tokenizer, contextTokens: 150, reservedOutputTokens: 50, context, instruction: 'go' });
    expect(budget.context.endsWith('line199();\n')).toBe(true);
    expect(budget.context.startsWith('line0();')).toBe(false);
    expect(budget.truncated).toEqual(['context']);
  });

  it('refuses an instruction that cannot fit', () => {
    expect(() => allocatePromptBudget({ tokenizer, contextTokens: 10, reservedOutputTokens: 8, instruction: 'a long instruction that needs many tokens' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
