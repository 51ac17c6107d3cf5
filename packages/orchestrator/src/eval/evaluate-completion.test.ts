import { describe, expect, it } from 'vitest';
import { AbortedError, type LanguageModelCallOptions } from '@codestack/core';
import { getTokenizer } from '@codestack/tokenizer';
import { createRecordingDocsRetriever } from '../__fixtures__/docs-retriever.js';
import { createTinyLocalModel } from '../__fixtures__/tiny-local-model.js';
import { buildCompletionCases, completionSimilarity, isExactCompletion } from './completion-cases.js';
import { evaluateCompletion } from './evaluate-completion.js';
import { wrapLanguageModel } from '../models/wrap-language-model.js';

const tokenizer = getTokenizer('cl100k_base');
const body = Array.from({ length: 40 }, (_, index) => `  const value${index} = readFileSync(paths[${index}], 'utf8').trim();`).join('\n');
const sources = [
  { path: 'read.ts', text: `import { readFileSync } from 'node:fs';\n\nexport function readAll(paths: string[]): string[] {\n${body}\n  return [value0, value1];\n}\n` },
  { path: 'small.js', text: 'const a = 1;\nconst b = 2;\nconst c = 3;\nconst d = 4;\nmodule.exports = { a, b, c, d };\n' },
];

/** The real tiny local model, with a middleware that records each call's prompt. */
async function recordingModel() {
  const prompts: string[] = [];
  const model = wrapLanguageModel({
    model: await createTinyLocalModel(),
    middleware: {
      async transformParams({ params }: { params: LanguageModelCallOptions }) {
        prompts.push(params.prompt as string);
        return params;
      },
    },
  });
  return { model, prompts };
}

describe('evaluateCompletion', () => {
  it('scores every case of the held-out files with the case rule, within the prompt budget', async () => {
    const { model, prompts } = await recordingModel();
    const report = await evaluateCompletion({ model, tokenizer, sources, casesPerFile: 2, maximumPromptTokens: 64, maxOutputTokens: 8 });
    const cases = buildCompletionCases(sources, { casesPerFile: 2 });
    expect(report.results).toHaveLength(cases.length);
    expect(report.nextLine.cases + report.nextIdentifier.cases).toBe(cases.length);
    expect(report.nextLine.cases).toBe(3);
    report.results.forEach((result, index) => {
      expect(result.completion.includes('\n')).toBe(false);
      expect(result.exact).toBe(isExactCompletion(cases[index]!, result.completion));
      expect(result.similarity).toBe(completionSimilarity(cases[index]!, result.completion));
    });
    const lines = report.results.filter((result) => result.kind === 'next-line');
    expect(report.nextLine.editSimilarity).toBeCloseTo(lines.reduce((total, result) => total + result.similarity, 0) / lines.length, 12);
    expect(report.nextLine.exact).toBe(report.results.filter((result) => result.kind === 'next-line' && result.exact).length);
    expect(prompts).toHaveLength(cases.length);
    prompts.forEach((prompt, index) => {
      expect(tokenizer.countTokens(prompt)).toBeLessThanOrEqual(64);
      // The prompt is the tail of the prefix: whole lines where the prefix was cut.
      expect(cases[index]!.prefix.endsWith(prompt)).toBe(true);
    });
    expect(report.withDocuments).toBe(false);
    expect(report.meanDocumentTokens).toBe(0);
  });

  it('scores exactly the cases it is given, when the caller built them', async () => {
    const { model, prompts } = await recordingModel();
    const cases = buildCompletionCases(sources, { casesPerFile: 2 }).filter((testCase) => testCase.kind === 'next-line');
    const report = await evaluateCompletion({ model, tokenizer, sources, cases, maximumPromptTokens: 64, maxOutputTokens: 8 });
    expect(report.results.map((result) => [result.path, result.line, result.kind])).toEqual(cases.map((testCase) => [testCase.path, testCase.line, testCase.kind]));
    expect(report.nextIdentifier.cases).toBe(0);
    expect(prompts).toHaveLength(cases.length);
  });

  it('puts retrieved docs first as comments, within their share of the budget, queried with the lines before the cursor', async () => {
    const { model, prompts } = await recordingModel();
    const retriever = await createRecordingDocsRetriever([
      { id: 'readFileSync', text: 'readFileSync(path, encoding) reads the entire contents of a file synchronously.' },
      { id: 'exports', text: 'module.exports sets what a CommonJS module exports.' },
    ]);
    const report = await evaluateCompletion({ model, tokenizer, sources, retriever, casesPerFile: 1, maximumPromptTokens: 96, maximumDocumentTokens: 32, maxOutputTokens: 8 });
    expect(report.withDocuments).toBe(true);
    expect(report.meanDocumentTokens).toBeGreaterThan(0);
    expect(retriever.queries.length).toBe(report.results.length);
    expect(retriever.queries[0]).toContain('readFileSync');
    for (const [index, prompt] of prompts.entries()) {
      expect(prompt.startsWith('// ')).toBe(true);
      expect(report.results[index]!.documentTokens).toBeLessThanOrEqual(32);
      expect(tokenizer.countTokens(prompt)).toBeLessThanOrEqual(96);
    }
  });

  it('stops with a typed error when aborted, and refuses a budget that leaves no room for code', async () => {
    const model = await createTinyLocalModel();
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(evaluateCompletion({ model, tokenizer, sources, signal: controller.signal })).rejects.toSatisfy((error) => AbortedError.isInstance(error));
    const retriever = await createRecordingDocsRetriever([{ id: 'x', text: 'x' }]);
    await expect(evaluateCompletion({ model, tokenizer, sources, retriever, maximumPromptTokens: 32, maximumDocumentTokens: 32 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
