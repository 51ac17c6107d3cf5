import { createRuntime, LlamaModel } from '@codestack/runtime';
import { getTokenizer } from '@codestack/tokenizer';
import { createLocalLanguageModel, type LocalLanguageModel } from '../models/local/local-language-model.js';

/**
 * A real local stack for tests: a tiny Llama model of `@codestack/runtime` (2 layers, hidden 32,
 * randomly initialised with a fixed seed, on the best available backend) over the real `cl100k_base`
 * tokenizer. Its text is gibberish, but every token really comes out of the model, so tests
 * assert structure, determinism under a seed, and round trips — never specific text.
 */
export function createTinyLocalModel(seed = 7): Promise<LocalLanguageModel> {
  let model = models.get(seed);
  if (!model) {
    model = build(seed);
    models.set(seed, model);
  }
  return model;
}

// One model per seed and test file: generation keeps no state between calls.
const models = new Map<number, Promise<LocalLanguageModel>>();

async function build(seed: number): Promise<LocalLanguageModel> {
  const runtime = await createRuntime();
  const tokenizer = getTokenizer('cl100k_base');
  const model = LlamaModel.create(
    runtime,
    {
      vocabularySize: 100256,
      hiddenSize: 32,
      layers: 2,
      attentionHeads: 4,
      keyValueHeads: 2,
      feedForwardSize: 64,
      maximumContext: 256,
      ropeTheta: 10000,
      normEpsilon: 1e-5,
      tiedEmbeddings: true,
    },
    { seed },
  );
  return createLocalLanguageModel({ model, tokenizer, modelId: 'codestack-tiny', defaultMaximumOutputTokens: 8 });
}
