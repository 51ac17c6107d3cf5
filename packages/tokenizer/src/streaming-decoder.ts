import { throwIfAborted, type IncrementalDecoder } from '@codestack/core';
import { assertTokenArray } from './argument-checks.js';

/** Anything that can give the UTF-8 bytes of a token id (the OpenAI tokenizers, compact vocabularies). */
export interface TokenByteSource {
  /** The UTF-8 bytes token `token` stands for; throws `INVALID_ARGUMENT` for an unknown id. */
  tokenBytes(token: number): Uint8Array;
}

/** Turns generated token ids into text as they arrive; made by {@link createStreamingDecoder}. */
export interface StreamingDecoder {
  /**
   * Adds one token or several and returns the text that is now complete. Bytes of a character
   * that spans tokens are held back until the character is whole.
   */
  write(tokens: number | readonly number[]): string;
  /** Ends the stream and returns what was held back (incomplete bytes become U+FFFD). */
  end(): string;
}

/**
 * Creates a {@link StreamingDecoder} for a tokenizer. Joining everything `write` and `end` return
 * gives exactly `tokenizer.decode(allTokens)`, however the ids were split into writes.
 */
export function createStreamingDecoder(source: TokenByteSource): StreamingDecoder {
  // A decoder of its own per stream: it keeps the partial bytes between writes.
  let decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  return {
    write(tokens) {
      if (typeof tokens === 'number') return decoder.decode(source.tokenBytes(tokens), { stream: true });
      assertTokenArray(tokens, 'tokens');
      let text = '';
      for (const token of tokens) text += decoder.decode(source.tokenBytes(token), { stream: true });
      return text;
    },
    end() {
      const rest = decoder.decode();
      decoder = new TextDecoder('utf-8', { ignoreBOM: true });
      return rest;
    },
  };
}

/**
 * The {@link IncrementalDecoder} of `@codestack/core`'s `Tokenizer.createDecoder` for a tokenizer
 * that knows its tokens' bytes: a {@link StreamingDecoder} under the contract's names (`push` is
 * `write`, `flush` is `end`). Each push decodes only the new ids' bytes.
 */
export function createIncrementalByteDecoder(source: TokenByteSource): IncrementalDecoder {
  const decoder = createStreamingDecoder(source);
  return { push: (tokens) => decoder.write(tokens), flush: () => decoder.end() };
}

/**
 * Decodes an async stream of token ids (single ids or batches, as a model generates them) into an
 * async stream of text pieces, never splitting a character. Stops with `ABORTED` when `signal` fires.
 */
export async function* decodeTokenStream(
  tokens: AsyncIterable<number | readonly number[]>,
  source: TokenByteSource,
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<string, void, undefined> {
  const decoder = createStreamingDecoder(source);
  for await (const batch of tokens) {
    throwIfAborted(options.signal, 'decodeTokenStream');
    const text = decoder.write(batch);
    if (text.length > 0) yield text;
  }
  const rest = decoder.end();
  if (rest.length > 0) yield rest;
}
