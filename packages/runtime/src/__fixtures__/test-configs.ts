import type { ModelConfig } from '../model/model-config.js';

/** A tiny configuration (about 30k parameters) for tests and examples: 2 layers, grouped-query attention. */
export const tinyConfig: ModelConfig = {
  vocabularySize: 48,
  hiddenSize: 32,
  layers: 2,
  attentionHeads: 4,
  keyValueHeads: 2,
  feedForwardSize: 64,
  maximumContext: 64,
  ropeTheta: 10000,
  normEpsilon: 1e-5,
  tiedEmbeddings: true,
};
