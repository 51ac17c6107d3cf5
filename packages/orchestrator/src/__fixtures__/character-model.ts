import type { Tokenizer } from '@codestack/core';
import type { ModelConfig } from '@codestack/runtime';

/** One token per character (code point mod 96): the datastore tests' tokenizer. */
export const characterTokenizer: Tokenizer = {
  encodingName: 'characters',
  encode: (text) => [...text].map((character) => character.charCodeAt(0) % 96),
  decode: (ids) => ids.map((id) => String.fromCharCode(id)).join(''),
  countTokens: (text) => [...text].length,
};

/** A tiny model over {@link characterTokenizer}'s 96 ids, with a 64-token window. */
export const characterModelConfig: ModelConfig = { vocabularySize: 96, hiddenSize: 32, layers: 2, attentionHeads: 4, keyValueHeads: 2, feedForwardSize: 64, maximumContext: 64, ropeTheta: 10000, normEpsilon: 1e-5, tiedEmbeddings: true };
