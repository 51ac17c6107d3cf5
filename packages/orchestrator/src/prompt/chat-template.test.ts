import { describe, expect, it } from 'vitest';
import { buildChatPrompt, buildCompletionPrompt, buildFillInTheMiddlePrompt, defaultSystemPrompt } from './prompt-templates.js';

describe('prompt templates', () => {
  it('builds a chat prompt with documents, context and task', () => {
    expect(buildChatPrompt({ documents: [{ id: 'a', text: 'doc A\n' }], context: 'const x = 1;', instruction: 'Add y.' })).toEqual([
      { role: 'system', content: defaultSystemPrompt },
      { role: 'user', content: 'Reference documents:\n\n[a]\ndoc A\n\nContext:\n\nconst x = 1;\n\nTask:\n\nAdd y.' },
    ]);
  });

  it('builds a completion prompt with a leading comment that cannot close early', () => {
    expect(buildCompletionPrompt({ instruction: 'Sum */ values.', context: 'function sum(' })).toBe('/**\n * Sum * / values.\n */\nfunction sum(');
  });

  it('builds a fill-in-the-middle prompt', () => {
    expect(buildFillInTheMiddlePrompt('a(', ')')).toBe('<fim_prefix>a(<fim_suffix>)<fim_middle>');
    expect(buildFillInTheMiddlePrompt('p', 's', { prefix: '<PRE>', suffix: '<SUF>', middle: '<MID>' })).toBe('<PRE>p<SUF>s<MID>');
  });
});
