// Run: npm run build -w packages/tokenizer && npx tsx packages/tokenizer/examples/quick-start.ts
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildCompactVocabulary,
  chunkCode,
  countChatTokens,
  createStreamingDecoder,
  fitBudget,
  getModelInfo,
  getTokenizer,
  loadCompactVocabulary,
  saveCompactVocabulary,
} from '@codestack/tokenizer';

const tokenizer = getTokenizer('gpt-4o');
console.log(tokenizer.encodingName, getModelInfo('gpt-4o').contextWindow);
console.log(tokenizer.encode('hello <|endoftext|>'), tokenizer.countTokens('hello world'));

// In cl100k_base the emoji spans two tokens: the decoder holds its bytes back until it is whole.
const cl100k = getTokenizer('cl100k_base');
const streaming = createStreamingDecoder(cl100k);
const pieces = cl100k.encode('é🙂!').map((id) => streaming.write(id));
console.log(JSON.stringify(pieces), JSON.stringify(streaming.end()));

console.log(countChatTokens([{ role: 'user', content: 'Hi there' }], 'gpt-4o'));

const source = 'export function one() {\n  return 1;\n}\n\nexport function two() {\n  return 2;\n}\n';
console.log(chunkCode(source, { maximumTokens: 12, tokenizer }).map(({ startLine, endLine }) => [startLine, endLine]));

const fit = fitBudget({
  budget: 40,
  reservedTokens: 10,
  tokenizer,
  sections: [
    { id: 'system', text: 'You are a careful coding assistant.', priority: 10 },
    { id: 'docs', text: 'Background documentation. '.repeat(20), priority: 1 },
    { id: 'code', text: source, priority: 5, kind: 'code' },
  ],
});
console.log(fit.usedTokens, fit.dropped, fit.truncated);

const vocabulary = await buildCompactVocabulary({
  corpus: { texts: [source.repeat(50)] },
  baseEncoding: 'cl100k_base',
  baseTokenCount: 100,
  workers: 2,
});
const directory = await mkdtemp(join(tmpdir(), 'vocabulary-'));
await saveCompactVocabulary(vocabulary, join(directory, 'vocabulary.json'));
const loaded = await loadCompactVocabulary(join(directory, 'vocabulary.json'), { expectedBaseEncoding: 'cl100k_base' });
console.log(loaded.vocabularySize, loaded.specialTokens.eos, loaded.decode(loaded.encode('return 3; // 漢字 🙂')));
await rm(directory, { recursive: true });
