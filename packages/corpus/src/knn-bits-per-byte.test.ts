import type { Tokenizer } from '@codestack/core';
import { ExactTokenDatastore } from '@codestack/orchestrator/local';
import { createRuntime, LlamaModel, softmax, type ModelConfig } from '@codestack/runtime';
import { describe, expect, it } from 'vitest';
import { knnBitsPerByte } from './knn-bits-per-byte.js';

/** One token per character (code point mod 96). */
const tokenizer: Tokenizer = {
  encodingName: 'characters',
  encode: (text) => [...text].map((character) => character.charCodeAt(0) % 96),
  decode: (ids) => ids.map((id) => String.fromCharCode(id)).join(''),
  countTokens: (text) => [...text].length,
};
const config: ModelConfig = { vocabularySize: 96, hiddenSize: 32, layers: 2, attentionHeads: 4, keyValueHeads: 2, feedForwardSize: 64, maximumContext: 64, ropeTheta: 10000, normEpsilon: 1e-5, tiedEmbeddings: true };

describe('knnBitsPerByte', () => {
  it('predicts every token but a text’s first once across overlapping windows, scores the model alone like its own logits, and mixes nothing at lambda 0', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const model = LlamaModel.create(runtime, config, { seed: 3, initializerRange: 0.3 });
    try {
      const short = 'const value = items.map((item) => item.id);';
      const long = 'export function add(left, right) { return left + right; }\n'.repeat(3);
      const datastore = new ExactTokenDatastore(config.hiddenSize, Float32Array.from({ length: 5 * config.hiddenSize }, (_, index) => Math.sin(index)), Int32Array.from([1, 2, 3, 4, 5]));
      const off = { lambda: 0, k: 2, temperature: 1 };
      const result = await knnBitsPerByte({ model, tokenizer, texts: [short, long], datastore, settings: [off, { lambda: 0.5, k: 2, temperature: 1 }], cache: off });
      // long (174 characters) runs in three windows of 64 overlapping by one token
      expect(result.tokens).toBe(short.length - 1 + long.length - 1);
      expect(result.bytes).toBe(short.length - 1 + long.length - 1);
      expect(result.mixed[0]).toBeCloseTo(result.base, 10);
      expect(result.cache?.alone).toBeCloseTo(result.base, 10);
      expect(result.cache?.afterDatastore).toBeCloseTo(result.base, 10);
      expect(result.mixed[1]).not.toBeCloseTo(result.base, 3);

      // With the cache on, a text that repeats itself is predicted from its own earlier positions:
      // fewer bits than the model alone, and, after the datastore's mix, a figure of its own.
      const half = { lambda: 0.5, k: 2, temperature: 1 };
      const cached = await knnBitsPerByte({ model, tokenizer, texts: [long], datastore, settings: [half], cache: half });
      expect(cached.cache!.alone).toBeLessThan(cached.base - 0.1);
      expect(cached.cache!.afterDatastore).not.toBeCloseTo(cached.cache!.alone, 3);
      expect(cached.cache!.afterDatastore).not.toBeCloseTo(cached.mixed[0]!, 3);

      // The model alone on the short text, from its own logits.
      const alone = await knnBitsPerByte({ model, tokenizer, texts: [short], datastore, settings: [off] });
      const ids = tokenizer.encode(short);
      const logits = model.logits([ids]);
      const values = logits.dataSync() as Float32Array;
      logits.dispose();
      let bits = 0;
      for (let position = 0; position + 1 < ids.length; position++) {
        bits -= Math.log2(softmax(values.slice(position * config.vocabularySize, (position + 1) * config.vocabularySize))[ids[position + 1]!]!);
      }
      expect(alone.base).toBeCloseTo(bits / (ids.length - 1), 4);
    } finally {
      model.dispose();
    }
  });
});
