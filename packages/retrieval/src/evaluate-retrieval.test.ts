import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import { DocsIndex } from './docs-index.js';
import { evaluateRetrieval } from './evaluate-retrieval.js';
import { sampleEntries } from './__fixtures__/sample-entries.js';

describe('evaluateRetrieval', () => {
  it('reports recall@k, MRR and nDCG per mode', async () => {
    const index = await DocsIndex.build(sampleEntries(), { dimension: 64 });
    const report = await evaluateRetrieval(
      index,
      [
        { query: 'sha256 digest', expected: ['hash.sha256'] },
        { query: 'zzzz qqqq', expected: ['hash.sha256'] },
      ],
      { cutoffs: [1, 3], modes: ['lexical'] },
    );
    expect(Object.keys(report)).toEqual(['lexical']);
    expect(report.lexical.recallAtK).toEqual({ 1: 0.5, 3: 0.5 });
    expect(report.lexical.mrr).toBe(0.5);
    expect(report.lexical.ndcg).toBe(0.5);
    expect(report.lexical.misses).toEqual(['zzzz qqqq']);
    await expect(evaluateRetrieval(index, [])).rejects.toSatisfy(InvalidArgumentError.isInstance);
  });
});
