import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { IncrementalDecoder, Tokenizer } from '@codestack/core';
import { createRuntime } from '../backend/runtime.js';
import { LlamaModel } from '../model/llama-model.js';
import { tinyConfig } from '../__fixtures__/test-configs.js';
import { generate, streamGenerate } from './generate.js';
import { StopSequenceCriterion, type StoppingCriterion } from './stopping-criteria.js';
import { TextStreamer } from './text-streamer.js';

// A byte-level toy tokenizer (48 ids, the tiny model's vocabulary): ASCII letters, a space, and
// pieces that split or complete multi-byte characters ("é", "€", "😀").
const pieces: number[][] = [
  ...Array.from({ length: 26 }, (_, index) => [0x61 + index]),
  [0x20], [0x3b], [0x65, 0x6e], [0x64, 0x3b],
  [0xc3, 0xa9], [0xc3], [0xa9], [0xe2, 0x82, 0xac], [0xe2, 0x82], [0xac], [0xe2], [0x82, 0xac],
  [0xf0, 0x9f, 0x98, 0x80], [0xf0, 0x9f], [0x98, 0x80], [0xf0], [0x9f, 0x98], [0x80], [0x9f],
  [0x65], [0x6e, 0x64], [0x80, 0x80],
];
const vocabularySize = pieces.length;

function byteTokenizer(counter: { decodedIds: number; pushedIds: number }, withOwnDecoder: boolean): Tokenizer {
  const bytes = (ids: readonly number[]): Uint8Array => Uint8Array.from(ids.flatMap((id) => pieces[id] ?? []));
  const tokenizer: Tokenizer = {
    encodingName: 'toy-bytes',
    encode: () => [],
    decode(ids) {
      counter.decodedIds += ids.length;
      return new TextDecoder().decode(bytes(ids));
    },
    countTokens: () => 0,
  };
  if (!withOwnDecoder) return tokenizer;
  return {
    ...tokenizer,
    createDecoder(): IncrementalDecoder {
      const decoder = new TextDecoder();
      return {
        push(ids) {
          counter.pushedIds += ids.length;
          return decoder.decode(bytes(ids), { stream: true });
        },
        flush: () => decoder.decode(),
      };
    },
  };
}

/** What the generation loop does with a streamer: put each token, check criteria, end on a match. */
function stream(tokenizer: Tokenizer, tokens: number[], criteria: StoppingCriterion[]): { streamed: string; final: string; stopped: boolean } {
  const streamer = new TextStreamer(tokenizer, criteria);
  let streamed = '';
  for (const [index, token] of tokens.entries()) {
    streamer.put([token]);
    const verdict = criteria.map((criterion) => criterion.check({ generatedIds: tokens.slice(0, index + 1), text: streamer.text })).find((found) => found !== undefined);
    if (verdict !== undefined) {
      streamed += streamer.end(verdict.keepTextLength);
      return { streamed, final: streamer.text, stopped: true };
    }
    streamed += streamer.takeDelta();
  }
  streamed += streamer.end();
  return { streamed, final: streamer.text, stopped: false };
}

const randomIds = fc.array(fc.integer({ min: 0, max: vocabularySize - 1 }), { maxLength: 60 });

describe('TextStreamer', () => {
  for (const withOwnDecoder of [true, false]) {
    const kind = withOwnDecoder ? "the tokenizer's own decoder" : 'the generic decoder';
    it(`streams exactly the whole decode for random ids, also ids that split characters (${kind}, property)`, () => {
      const tokenizer = byteTokenizer({ decodedIds: 0, pushedIds: 0 }, withOwnDecoder);
      fc.assert(
        fc.property(randomIds, (tokens) => {
          const { streamed, final } = stream(tokenizer, tokens, []);
          expect(streamed).toBe(tokenizer.decode(tokens));
          expect(final).toBe(streamed);
        }),
        { numRuns: 400 },
      );
    });

    it(`never streams a stop sequence, also one spanning tokens, and cuts before its first match (${kind}, property)`, () => {
      const tokenizer = byteTokenizer({ decodedIds: 0, pushedIds: 0 }, withOwnDecoder);
      fc.assert(
        fc.property(randomIds, fc.constantFrom('end;', 'é', '€a', 'd;e', '😀'), (tokens, stop) => {
          const { streamed, final, stopped } = stream(tokenizer, tokens, [new StopSequenceCriterion([stop])]);
          const whole = tokenizer.decode(tokens);
          expect(streamed).toBe(final);
          expect(streamed.includes(stop)).toBe(false);
          // Stopped at the first match, or no match in the whole text (a trailing split character is U+FFFD).
          if (stopped) expect(whole.startsWith(streamed + stop) || whole.slice(streamed.length).startsWith(stop)).toBe(true);
          else expect(streamed).toBe(whole);
        }),
        { numRuns: 400 },
      );
    });
  }

  it('holds back what a criterion declares with holdBackCharacters, no instanceof', () => {
    const holdTwo: StoppingCriterion = { check: () => undefined, holdBackCharacters: (text) => Math.min(2, text.length) };
    const streamer = new TextStreamer(byteTokenizer({ decodedIds: 0, pushedIds: 0 }, true), [holdTwo]);
    streamer.put([0, 1, 2]);
    expect(streamer.takeDelta()).toBe('a');
    streamer.put([3]);
    expect(streamer.takeDelta()).toBe('b');
    expect(streamer.end()).toBe('cd');
  });
});

describe('generation decodes O(new tokens) per step', () => {
  it('decodes each generated id once with a tokenizer decoder, a bounded window with the generic one, on a long generation', async () => {
    const runtime = await createRuntime({ backend: 'cpu' });
    const config = { ...tinyConfig, maximumContext: 400 };
    const model = LlamaModel.create(runtime, config, { seed: 5, initializerRange: 0.3 });
    const tensorsBefore = runtime.tf.memory().numTensors;
    const tokens = 300;
    try {
      const own = { decodedIds: 0, pushedIds: 0 };
      const [withOwn] = await generate(model, [[1]], { tokenizer: byteTokenizer(own, true), maximumNewTokens: tokens, temperature: 1, seed: 3 });
      expect(withOwn?.tokens).toHaveLength(tokens);
      expect(own.pushedIds).toBe(tokens);
      expect(own.decodedIds).toBe(0);

      const generic = { decodedIds: 0, pushedIds: 0 };
      const streamed: string[] = [];
      for await (const chunk of streamGenerate(model, [1], { tokenizer: byteTokenizer(generic, false), maximumNewTokens: tokens, temperature: 1, seed: 3 })) streamed.push(chunk.text);
      expect(streamed.join('')).toBe(withOwn?.text);
      // Decoding the whole output each step would decode tokens * (tokens + 1) / 2 = 45150 ids.
      expect(generic.decodedIds).toBeLessThan(10 * tokens);
      console.log(`ids decoded for ${tokens} tokens: ${own.pushedIds} (own decoder), ${generic.decodedIds} (generic decoder)`);
      expect(runtime.tf.memory().numTensors).toBe(tensorsBefore);
    } finally {
      model.dispose();
    }
  });
});
