import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createIncrementalDecoder } from './incremental-decoder.js';
import type { Tokenizer } from './spec/tokenizer.js';

// A byte-level toy tokenizer: ids 0-255 are single bytes, the rest are pieces that split or
// complete multi-byte characters ("é", "€", "😀" and fragments of them).
const multiBytePieces = [[0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xe2, 0x82], [0xac], [0xf0, 0x9f], [0x98, 0x80], [0xf0, 0x9f, 0x98, 0x80], [0xc3]];
const pieceBytes = (id: number): number[] => (id < 256 ? [id] : (multiBytePieces[id - 256] as number[]));
const vocabularySize = 256 + multiBytePieces.length;

function byteTokenizer(counter: { ids: number }): Tokenizer {
  return {
    encodingName: 'bytes',
    encode: (text) => [...new TextEncoder().encode(text)],
    decode(ids) {
      counter.ids += ids.length;
      return new TextDecoder().decode(Uint8Array.from(ids.flatMap(pieceBytes)));
    },
    countTokens: (text) => new TextEncoder().encode(text).length,
  };
}

/** Ids biased towards multi-byte pieces and UTF-8 lead/continuation bytes, so characters split. */
const ids = fc.array(fc.oneof(fc.integer({ min: 256, max: vocabularySize - 1 }), fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff })), { maxLength: 60 });

function streamAll(tokenizer: Tokenizer, tokens: number[], batchSizes: number[]): string {
  const decoder = createIncrementalDecoder(tokenizer);
  let text = '';
  for (let position = 0, batch = 0; position < tokens.length; batch++) {
    const size = batchSizes[batch % batchSizes.length] as number;
    const piece = decoder.push(tokens.slice(position, position + size));
    text += piece;
    position += size;
  }
  return text + decoder.flush();
}

describe('createIncrementalDecoder (generic, from decode)', () => {
  it('streams exactly the whole decode for random ids, also ids that split multi-byte characters (property)', () => {
    const tokenizer = byteTokenizer({ ids: 0 });
    fc.assert(
      fc.property(ids, fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 5 }), (tokens, batchSizes) => {
        expect(streamAll(tokenizer, tokens, batchSizes)).toBe(tokenizer.decode(tokens));
      }),
      { numRuns: 500 },
    );
  });

  it('never returns a piece that ends inside a character', () => {
    const decoder = createIncrementalDecoder(byteTokenizer({ ids: 0 }));
    // "€" as [e2 82] + [ac], "😀" as [f0 9f] + [98 80]
    expect(decoder.push([0x61, 256 + 2])).toBe('');
    expect(decoder.push([256 + 3])).toBe('a€');
    expect(decoder.push([256 + 4])).toBe('');
    expect(decoder.push([256 + 5, 0x62])).toBe('😀b');
    expect(decoder.push([256 + 7])).toBe('');
    expect(decoder.flush()).toBe('\uFFFD');
  });

  it('decodes O(new tokens) per push: ids decoded stay linear in a long stream', () => {
    const counter = { ids: 0 };
    const decoder = createIncrementalDecoder(byteTokenizer(counter));
    const length = 5000;
    let text = '';
    for (let index = 0; index < length; index++) text += decoder.push([index % 3 === 0 ? 256 + 2 : index % 3 === 1 ? 256 + 3 : 0x61]);
    text += decoder.flush();
    expect(text).toBe('€a'.repeat(length / 3 + 1).slice(0, text.length));
    // Each push decodes the previous piece (context) and the pending ids: a few ids, never the whole stream.
    expect(counter.ids).toBeLessThan(6 * length);
  });

  it('keeps context for decoders that treat the first token specially (SentencePiece leading space)', () => {
    const words = ['▁Hello', '▁world', ',', '▁again'];
    const sentencePiece: Tokenizer = {
      encodingName: 'sentence-piece-like',
      encode: () => [],
      decode: (tokens) => tokens.map((id) => words[id] ?? '').join('').replaceAll('▁', ' ').replace(/^ /, ''),
      countTokens: () => 0,
    };
    const tokens = [0, 1, 2, 3, 1];
    expect(streamAll(sentencePiece, tokens, [1])).toBe(sentencePiece.decode(tokens));
  });

  it("uses the tokenizer's own decoder when it has one", () => {
    const own = { push: () => 'own', flush: () => '' };
    expect(createIncrementalDecoder({ ...byteTokenizer({ ids: 0 }), createDecoder: () => own })).toBe(own);
  });
});
