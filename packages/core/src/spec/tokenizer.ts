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
}
