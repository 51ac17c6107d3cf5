import { describe, expect, it } from 'vitest';
import type { Retriever } from '@codestack/core';
import fc from 'fast-check';
import { getTokenizer } from '@codestack/tokenizer';
import { createRecordingDocsRetriever } from '../__fixtures__/docs-retriever.js';
import { buildCodeCompletionPrompt, buildCompletionPrompt } from './completion-template.js';

const tokenizer = getTokenizer('cl100k_base');
const prefix = Array.from({ length: 30 }, (_, index) => `const value${index} = compute(${index});`).join('\n') + '\n';

describe('buildCompletionPrompt', () => {
  it('builds a completion prompt with a leading comment that cannot close early', () => {
    expect(buildCompletionPrompt({ instruction: 'Sum */ values.', context: 'function sum(' })).toBe('/**\n * Sum * / values.\n */\nfunction sum(');
  });

  it('puts the documents, rendered as a section, into the comment', () => {
    expect(buildCompletionPrompt({ documents: [{ id: 'a', text: 'a(): void' }], instruction: 'Call a.' })).toBe('/**\n * Reference documents:\n *\n * [a]\n * a(): void\n *\n * Call a.\n */\n');
  });
});

describe('buildCodeCompletionPrompt', () => {
  it('keeps the prefix whole when it fits, else its last whole lines within the budget', async () => {
    expect(await buildCodeCompletionPrompt({ prefix, tokenizer, maximumPromptTokens: 4096 })).toEqual({ prompt: prefix, documents: '', documentTokens: 0 });
    const { prompt } = await buildCodeCompletionPrompt({ prefix, tokenizer, maximumPromptTokens: 40 });
    expect(tokenizer.countTokens(prompt)).toBeLessThanOrEqual(40);
    expect(prefix.endsWith(prompt)).toBe(true);
    expect(prompt.startsWith('const value')).toBe(true);
    expect(tokenizer.countTokens(prompt)).toBeGreaterThan(25);
  });

  it('keeps the token tail of a single line longer than the budget', async () => {
    const line = `const list = [${Array.from({ length: 200 }, (_, index) => index).join(', ')}];`;
    const { prompt } = await buildCodeCompletionPrompt({ prefix: line, tokenizer, maximumPromptTokens: 16 });
    expect(tokenizer.countTokens(prompt)).toBeLessThanOrEqual(16);
    expect(line.endsWith(prompt)).toBe(true);
  });

  it('cuts a doc line too long for the budget to its first sentence, or skips it', async () => {
    const retriever = await createRecordingDocsRetriever([
      { id: 'compute', text: `compute(${Array.from({ length: 40 }, (_, index) => `argument${index}: number`).join(', ')}): number\ncompute returns a value. ${'It is cached and fast. '.repeat(10)}` },
    ]);
    const result = await buildCodeCompletionPrompt({ prefix, tokenizer, retriever, maximumPromptTokens: 64, maximumDocumentTokens: 20 });
    expect(result.documents).toBe('// compute returns a value.\n');
  });

  it('puts the retrieved docs first as comments within their budget', async () => {
    const retriever = await createRecordingDocsRetriever([{ id: 'compute', text: 'compute(n) returns the nth value of the series.\nIt never throws.' }]);
    const result = await buildCodeCompletionPrompt({ prefix, tokenizer, retriever, maximumPromptTokens: 64, maximumDocumentTokens: 20 });
    expect(result.documents.length).toBeGreaterThan(0);
    expect(result.documents.split('\n').filter(Boolean).every((line: string) => line.startsWith('// '))).toBe(true);
    expect(result.documentTokens).toBeLessThanOrEqual(20);
    expect(result.prompt.startsWith(result.documents)).toBe(true);
    expect(tokenizer.countTokens(result.prompt)).toBeLessThanOrEqual(64);
    expect(retriever.queries[0]).toBe(prefix.trim().split('\n').slice(-3).join('\n'));
  });
});

describe('buildCodeCompletionPrompt property', () => {
  it('never gives a prompt over maximumPromptTokens, as the model\'s tokenizer counts the joined prompt', async () => {
    const model = getTokenizer('o200k_base');
    const line = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.constantFrom('  return a + b;', '}', 'const x = [1, 2, 3];', '\t// 注释 🚀', ''));
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 80, size: 'max' }),
        fc.array(fc.array(line, { maxLength: 6 }), { maxLength: 3 }),
        fc.integer({ min: 8, max: 512 }),
        async (prefixLines, documentLines, maximumPromptTokens) => {
          const retriever: Retriever = { retrieve: async () => documentLines.map((lines, index) => ({ id: String(index), text: lines.join('\n'), score: 1 })) };
          const result = await buildCodeCompletionPrompt({ prefix: prefixLines.join('\n'), tokenizer: model, retriever, maximumPromptTokens });
          expect(model.countTokens(result.prompt)).toBeLessThanOrEqual(maximumPromptTokens);
          expect(result.documentTokens).toBeLessThanOrEqual(Math.floor(maximumPromptTokens / 4));
        },
      ),
      { numRuns: 100, seed: 13 },
    );
  });
});
