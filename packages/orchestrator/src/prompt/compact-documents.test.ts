import { getTokenizer } from '@codestack/tokenizer';
import { describe, expect, it } from 'vitest';
import { compactDocuments, gateDocuments, type CompactableDocument } from './compact-documents.js';

const tokenizer = getTokenizer('cl100k_base');
const document = (id: string, relevance: number, compactWords: number, wholeWords: number): CompactableDocument => ({
  id,
  score: 1,
  relevance,
  compact: `// ${id}\n${'sig '.repeat(compactWords)}`,
  text: `// ${id}\n${'sig '.repeat(compactWords)}${'detail '.repeat(wholeWords)}`,
});

describe('gateDocuments', () => {
  it('keeps what clears the threshold, most relevant first, keeps documents without a relevance, and says why the rest left', () => {
    const plain = { id: 'plain', score: 1, text: 'no relevance' };
    const { kept, dropped } = gateDocuments([document('low', 0.5, 1, 1), document('mid', 1, 1, 1), plain, document('high', 2, 1, 1)], 0.9);
    expect(kept.map((item) => item.id)).toEqual(['plain', 'high', 'mid']);
    expect(dropped).toEqual([{ id: 'low', relevance: 0.5, threshold: 0.9, reason: 'relevance 0.500 < threshold 0.9' }]);
  });
});

describe('compactDocuments', () => {
  it('puts every compact form in first, then whole texts in relevance order while the budget holds', () => {
    const first = document('first', 2, 5, 40);
    const second = document('second', 1, 5, 5);
    const compactTokens = tokenizer.countTokens(first.compact!) + tokenizer.countTokens(second.compact!);
    // Room for the second's detail but not the first's: the first stays compact, the second goes whole.
    const budget = compactTokens + (tokenizer.countTokens(second.text) - tokenizer.countTokens(second.compact!));
    const { documents, overBudget } = compactDocuments([first, second], { tokenizer, maximumTokens: budget });
    expect(documents.map((item) => item.text)).toEqual([first.compact, second.text]);
    expect(overBudget).toEqual([]);
    const roomy = compactDocuments([first, second], { tokenizer, maximumTokens: 10_000 });
    expect(roomy.documents.map((item) => item.text)).toEqual([first.text, second.text]);
  });

  it('leaves out a document whose compact form does not fit, reporting its tokens, and goes on with the next', () => {
    const big = document('big', 2, 60, 0);
    const small = document('small', 1, 2, 0);
    const bigTokens = tokenizer.countTokens(big.compact!);
    const { documents, overBudget } = compactDocuments([big, small], { tokenizer, maximumTokens: 20 });
    expect(documents.map((item) => item.id)).toEqual(['small']);
    expect(overBudget).toEqual([{ id: 'big', relevance: 2, tokens: bigTokens, reason: `compact form of ${bigTokens} tokens > 20 left of the documents' 20` }]);
    const total = documents.reduce((sum, item) => sum + tokenizer.countTokens(item.text), 0);
    expect(total).toBeLessThanOrEqual(20);
  });
});
