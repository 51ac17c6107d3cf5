import { AbortedError } from '@codestack/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getTokenizer } from './openai-tokenizer.js';
import { createStreamingDecoder, decodeTokenStream } from './streaming-decoder.js';

describe('createStreamingDecoder', () => {
  for (const encoding of ['cl100k_base', 'o200k_base']) {
    it(`round-trips random Unicode token by token and in random batches (${encoding}, property)`, () => {
      const tokenizer = getTokenizer(encoding);
      fc.assert(
        fc.property(
          fc.string({ unit: 'grapheme', maxLength: 80 }),
          fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 10 }),
          (text, batchSizes) => {
            const tokens = tokenizer.encode(text);
            const oneByOne = createStreamingDecoder(tokenizer);
            let streamed = '';
            for (const token of tokens) streamed += oneByOne.write(token);
            streamed += oneByOne.end();
            expect(streamed).toBe(text);

            const batched = createStreamingDecoder(tokenizer);
            let fromBatches = '';
            let position = 0;
            let batchIndex = 0;
            while (position < tokens.length) {
              const size = batchSizes[batchIndex++ % batchSizes.length] as number;
              fromBatches += batched.write(tokens.slice(position, position + size));
              position += size;
            }
            fromBatches += batched.end();
            expect(fromBatches).toBe(text);
          },
        ),
        { numRuns: 200 },
      );
    });
  }

  it('holds back the bytes of a character that spans tokens and never emits U+FFFD for it', () => {
    const tokenizer = getTokenizer('cl100k_base');
    const text = '🙂 and 漢字';
    const tokens = tokenizer.encode(text);
    // At least one character is split over several tokens, so a token alone decodes to U+FFFD.
    expect(tokens.some((token) => tokenizer.decode([token]).includes('\uFFFD'))).toBe(true);
    const decoder = createStreamingDecoder(tokenizer);
    const pieces = tokens.map((token) => decoder.write(token));
    expect(pieces.join('')).not.toContain('\uFFFD');
    expect(pieces.some((piece) => piece === '')).toBe(true);
    expect(pieces.join('') + decoder.end()).toBe(text);
  });

  it('flushes incomplete bytes at the end as U+FFFD, like decode', () => {
    const tokenizer = getTokenizer('cl100k_base');
    const tokens = tokenizer.encode('🙂');
    const decoder = createStreamingDecoder(tokenizer);
    expect(decoder.write(tokens.slice(0, 1))).toBe('');
    expect(decoder.end()).toBe(tokenizer.decode(tokens.slice(0, 1)));
    // The decoder is usable again after end().
    expect(decoder.write(tokenizer.encode('ok')) + decoder.end()).toBe('ok');
  });

  it('decodes an async stream and stops when aborted', async () => {
    const tokenizer = getTokenizer('o200k_base');
    const text = 'Streaming 🙂 text, 中文 too.';
    async function* generate(): AsyncGenerator<number> {
      for (const token of tokenizer.encode(text)) yield token;
    }
    let joined = '';
    for await (const piece of decodeTokenStream(generate(), tokenizer)) joined += piece;
    expect(joined).toBe(text);

    const controller = new AbortController();
    controller.abort();
    await expect(async () => {
      for await (const piece of decodeTokenStream(generate(), tokenizer, { signal: controller.signal })) void piece;
    }).rejects.toThrow(AbortedError);
  });

  it('refuses unknown token ids', () => {
    const decoder = createStreamingDecoder(getTokenizer('cl100k_base'));
    expect(() => decoder.write(10_000_000)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
