import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { get_encoding } from 'tiktoken';
import { describe, expect, it } from 'vitest';
import { getTokenizer } from './openai-tokenizer.js';

// Whole real files from node_modules, compared token for token with OpenAI's tiktoken (WASM).
const require = createRequire(import.meta.url);
const corpus = ['typescript/lib/typescript.js', 'typescript/lib/lib.dom.d.ts'].map((name) => ({
  name,
  text: readFileSync(require.resolve(name), 'utf8'),
}));

function firstDifference(left: ArrayLike<number>, right: ArrayLike<number>): number {
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index++) if (left[index] !== right[index]) return index;
  return left.length === right.length ? -1 : length;
}

describe('exactness against tiktoken', () => {
  for (const encoding of ['cl100k_base', 'o200k_base'] as const) {
    it(`encodes whole real files exactly like tiktoken (${encoding})`, { timeout: 60_000 }, () => {
      const tokenizer = getTokenizer(encoding);
      const reference = get_encoding(encoding);
      try {
        for (const { name, text } of corpus) {
          expect(text.length, name).toBeGreaterThan(1_000_000);
          const ours = tokenizer.encode(text);
          const theirs = reference.encode(text, [], []);
          expect(firstDifference(ours, theirs), name).toBe(-1);
          expect(tokenizer.countTokens(text), name).toBe(theirs.length);
        }
        // Special-token strings as plain text, as tiktoken does with no special tokens allowed.
        const special = 'a <|endoftext|> b <|fim_prefix|><|im_start|>';
        expect(tokenizer.encode(special)).toEqual(Array.from(reference.encode(special, [], [])));
        // Allowed special tokens (gpt-tokenizer's 'all' also has chat markers tiktoken lacks, so name one).
        expect(tokenizer.encode(special, { allowedSpecialTokens: ['<|endoftext|>'] })).toEqual(
          Array.from(reference.encode(special, ['<|endoftext|>'], [])),
        );
      } finally {
        reference.free();
      }
    });
  }
});
