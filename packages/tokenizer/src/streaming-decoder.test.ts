import { AbortedError } from '@codestack/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCompactVocabulary } from './compact-vocabulary.js';
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

describe('Tokenizer.createDecoder (the @codestack/core incremental decoder)', () => {
  const pushAll = (decoder: { push(tokens: readonly number[]): string; flush(): string }, tokens: number[], sizes: number[]): string => {
    let text = '';
    for (let position = 0, batch = 0; position < tokens.length; batch++) {
      const size = sizes[batch % sizes.length] as number;
      text += decoder.push(tokens.slice(position, position + size));
      position += size;
    }
    return text + decoder.flush();
  };

  it('streams exactly the whole decode for random ids of cl100k_base, also ids that split characters (property)', () => {
    const tokenizer = getTokenizer('cl100k_base');
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 99_999 }), { maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 5 }),
        (tokens, sizes) => {
          expect(pushAll(tokenizer.createDecoder(), tokens, sizes)).toBe(tokenizer.decode(tokens));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('streams exactly the whole decode for random ids of a compact vocabulary (byte ids split characters, property)', async () => {
    const vocabulary = await createCompactVocabulary({ baseEncoding: 'cl100k_base', baseTokenIds: [15339, 1917, 11, 30, 9468, 239, 222] });
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: vocabulary.vocabularySize - 1 }), { maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 5 }),
        (tokens, sizes) => {
          expect(pushAll(vocabulary.createDecoder(), tokens, sizes)).toBe(vocabulary.decode(tokens));
        },
      ),
      { numRuns: 300 },
    );
  });
});
