import { getTokenizer } from '@codestack/tokenizer';
import { describe, expect, it } from 'vitest';
import { createRecordingDocsRetriever } from '../__fixtures__/docs-retriever.js';
import { createTinyLocalModel } from '../__fixtures__/tiny-local-model.js';
import { retrievalAugmentationMiddleware, type RetrievalRecord } from './retrieval-augmentation-middleware.js';
import { wrapLanguageModel } from '../models/wrap-language-model.js';

const documents = [
  { id: 'lodash-chunk', text: 'chunk splits an array into groups of size n. ' + 'Example: chunk([1,2,3], 2) gives [[1,2],[3]]. '.repeat(20) },
  { id: 'lodash-sum', text: 'sum adds the numbers of an array.' },
  { id: 'unrelated', text: 'The weather is nice today.' },
];

describe('retrievalAugmentationMiddleware', () => {
  it('adds the best documents as a system message within the token budget and records them', async () => {
    const retriever = await createRecordingDocsRetriever(documents);
    const tokenizer = getTokenizer('cl100k_base');
    const records: RetrievalRecord[] = [];
    const middleware = retrievalAugmentationMiddleware({ retriever, tokenizer, maximumDocumentTokens: 60, onRetrieval: (record) => records.push(record) });
    const params = await middleware.transformParams!({
      type: 'generate',
      params: { prompt: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'How do I chunk an array and sum it?' }] },
      model: await createTinyLocalModel(),
    });
    expect(retriever.queries).toEqual(['How do I chunk an array and sum it?']);
    const prompt = params.prompt as { role: string; content: string }[];
    expect(prompt[0]?.role).toBe('system');
    expect(prompt[0]?.content).toContain('[lodash-chunk]');
    expect(tokenizer.countTokens(records[0]!.used.map((document) => documents.find((entry) => entry.id === document.id)!.text).join(''))).toBeGreaterThan(60);
    expect(records[0]!.used.reduce((sum, document) => sum + document.tokens, 0)).toBeLessThanOrEqual(60);
    const used = new Map(records[0]!.used.map((document) => [document.id, document]));
    expect(used.get('lodash-chunk')).toMatchObject({ truncated: true });
    expect(used.has('unrelated')).toBe(false);
    expect(prompt.slice(1)).toEqual([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'How do I chunk an array and sum it?' }]);
  });

  it('reports the used documents in the generate result', async () => {
    const model = wrapLanguageModel({
      model: await createTinyLocalModel(),
      middleware: retrievalAugmentationMiddleware({ retriever: await createRecordingDocsRetriever(documents), tokenizer: getTokenizer('cl100k_base'), maximumDocumentTokens: 200 }),
    });
    const result = await model.doGenerate({ prompt: 'sum of an array', maxOutputTokens: 2 });
    const retrieval = result.providerMetadata?.codestack?.retrieval as RetrievalRecord;
    expect(retrieval.used.map((document) => document.id)).toEqual(['lodash-sum', 'lodash-chunk']);
  });

  it('refuses a non-positive budget', async () => {
    const retriever = await createRecordingDocsRetriever(documents);
    expect(() => retrievalAugmentationMiddleware({ retriever, tokenizer: getTokenizer('cl100k_base'), maximumDocumentTokens: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
