/**
 * The tokenizer contract every codestack package codes against. `@codestack/tokenizer`
 * implements it for the OpenAI BPE encodings and for compact vocabularies.
 */
export interface Tokenizer {
  /** The encoding's name, such as `cl100k_base`, or a compact vocabulary's id. */
  readonly encodingName: string;
  /** Encodes text into token ids. Special-token strings are encoded as plain text. */
  encode(text: string): number[];
  /** Decodes token ids back into text. */
  decode(tokens: readonly number[]): string;
  /** The number of tokens `text` encodes to. */
  countTokens(text: string): number;
  /**
   * Optional: a decoder that turns ids into text as they arrive, doing work proportional to the
   * new ids only. Tokenizers without one get a generic decoder built from {@link Tokenizer.decode}
   * (`createIncrementalDecoder` in `@codestack/core`).
   */
  createDecoder?(): IncrementalDecoder;
}

/**
 * Decodes a stream of token ids piece by piece. Joining everything {@link IncrementalDecoder.push}
 * and {@link IncrementalDecoder.flush} return gives `tokenizer.decode(allIds)`, however the ids
 * were split into pushes.
 */
export interface IncrementalDecoder {
  /**
   * Adds ids and returns the text that is complete so far and was not returned before. Bytes of a
   * character that is not whole yet (a multi-byte UTF-8 character split across tokens) are held back.
   */
  push(tokens: readonly number[]): string;
  /** Ends the stream: returns what was held back (incomplete bytes become U+FFFD) and starts afresh. */
  flush(): string;
}
