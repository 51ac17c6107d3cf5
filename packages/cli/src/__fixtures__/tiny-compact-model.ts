import { join } from 'node:path';
import { createRuntime, LlamaModel, saveModel } from '@codestack/runtime';
import { createCompactVocabulary, getTokenizer, saveCompactVocabulary } from '@codestack/tokenizer';

/**
 * Saves a tiny random checkpoint (2 layers, 128 tokens of context) to `directory`, with the compact
 * vocabulary of one small TypeScript function beside it as `vocabulary.json`. Another `seed` gives
 * other weights over the same vocabulary.
 */
export async function saveTinyCompactModel(directory: string, seed = 5): Promise<void> {
  const baseTokenIds = [...new Set(getTokenizer('cl100k_base').encode('export function add(a: number, b: number): number { return a + b; }'))];
  const vocabulary = await createCompactVocabulary({ baseEncoding: 'cl100k_base', baseTokenIds });
  const runtime = await createRuntime();
  const model = LlamaModel.create(
    runtime,
    { vocabularySize: vocabulary.vocabularySize, hiddenSize: 32, layers: 2, attentionHeads: 4, keyValueHeads: 2, feedForwardSize: 64, maximumContext: 128, ropeTheta: 10000, normEpsilon: 1e-5, tiedEmbeddings: true },
    { seed },
  );
  try {
    await saveModel(model, directory);
    await saveCompactVocabulary(vocabulary, join(directory, 'vocabulary.json'));
  } finally {
    model.dispose();
  }
}
