import { InvalidArgumentError, sha256Hex, type IncrementalDecoder, type Tokenizer } from '@codestack/core';
import { assertString, assertTokenArray, assertWholeNumber } from './argument-checks.js';
import { type CorpusInput, type CorpusJobOptions, createCorpusEncoder } from './corpus-encoder.js';
import { type EncodingName, encodingNames, isEncodingName } from './encoding-registry.js';
import { loadTokenizer, type OpenAiTokenizer } from './openai-tokenizer.js';
import { createIncrementalByteDecoder } from './streaming-decoder.js';
import { decodeTokenBytes } from './token-bytes.js';
import { UnknownEncodingError } from './unknown-encoding-error.js';

/** The ids of a compact vocabulary's special tokens. */
export interface CompactSpecialTokens {
  /** Padding. */
  readonly pad: number;
  /** Beginning of sequence. */
  readonly bos: number;
  /** End of sequence. */
  readonly eos: number;
  /** Fill-in-the-middle: the prefix follows. */
  readonly fimPrefix: number;
  /** Fill-in-the-middle: the suffix follows. */
  readonly fimSuffix: number;
  /** Fill-in-the-middle: the middle (to generate) follows. */
  readonly fimMiddle: number;
}

/** The fixed layout: special tokens first, then the 256 byte tokens, then the kept base tokens. */
export const compactSpecialTokens: CompactSpecialTokens = Object.freeze({
  pad: 0,
  bos: 1,
  eos: 2,
  fimPrefix: 3,
  fimSuffix: 4,
  fimMiddle: 5,
});

/** The id of byte 0x00; byte `b` has id `byteTokenOffset + b`. */
export const byteTokenOffset = 6;
const baseTokenOffset = byteTokenOffset + 256;

const specialTokenTexts: readonly string[] = [
  '<|pad|>',
  '<|bos|>',
  '<|eos|>',
  '<|fim_prefix|>',
  '<|fim_suffix|>',
  '<|fim_middle|>',
];

/**
 * A small, lossless vocabulary for local models: special tokens, the 256 bytes, and the K most
 * frequent tokens of a base BPE encoding. Text is encoded with the base encoding; a base token
 * outside the K is written as its UTF-8 bytes, so `decode(encode(text)) === text` for any
 * well-formed string (emoji, CJK, code). Lone surrogates cannot be represented in UTF-8: like
 * `TextEncoder`, encoding turns each into U+FFFD.
 */
export interface CompactVocabulary extends Tokenizer {
  /** `compact-<K>-<baseEncoding>-<first 12 hex digits of the checksum>`. */
  readonly encodingName: string;
  /** The base encoding whose tokens are kept. */
  readonly baseEncoding: EncodingName;
  /** The number of ids: 6 special + 256 bytes + K base tokens. */
  readonly vocabularySize: number;
  /** The special token ids. */
  readonly specialTokens: CompactSpecialTokens;
  /** The base token id of each kept token, in compact-id order (compact id = 262 + index). */
  readonly baseTokenIds: readonly number[];
  /** SHA-256 of the vocabulary's content (base encoding and kept tokens). */
  readonly checksum: string;
  /** Encodes text; special-token strings are plain text, never special ids. */
  encode(text: string): number[];
  /** Decodes ids; special ids decode to their marker text (`<|bos|>`, …). */
  decode(tokens: readonly number[]): string;
  /** The number of ids `text` encodes to. */
  countTokens(text: string): number;
  /** The UTF-8 bytes of one id (special ids: their marker text), for streaming decode. */
  tokenBytes(token: number): Uint8Array;
  /** A decoder for ids as they arrive: each push decodes only the new ids' bytes, holding back a split character. */
  createDecoder(): IncrementalDecoder;
}

/** Options of {@link buildCompactVocabulary}. */
export interface BuildCompactVocabularyOptions extends CorpusJobOptions {
  /** The corpus to count base tokens over. */
  corpus: CorpusInput;
  /** The base encoding (`cl100k_base`, `o200k_base`, …). */
  baseEncoding: string;
  /** K: how many of the most frequent base tokens to keep. */
  baseTokenCount: number;
  /** Worker threads for counting (default: available parallelism). */
  workers?: number;
}

/**
 * Builds a compact vocabulary from a corpus: counts base tokens across worker threads, keeps the
 * `baseTokenCount` most frequent (ties: lower base id first; tokens never seen are not kept), and
 * adds the bytes and special tokens. Accepts `signal`, `progress` and `json` like the corpus encoder.
 */
export async function buildCompactVocabulary(options: BuildCompactVocabularyOptions): Promise<CompactVocabulary> {
  assertString(options?.baseEncoding, 'baseEncoding');
  assertWholeNumber(options.baseTokenCount, 'baseTokenCount');
  const base = await loadBase(options.baseEncoding, options.signal);
  const encoder = createCorpusEncoder({ encoding: base.encodingName, workers: options.workers });
  let frequencies: Uint32Array;
  try {
    frequencies = await encoder.countFrequencies(options.corpus, options);
  } finally {
    await encoder.close();
  }
  const seen: number[] = [];
  for (let id = 0; id < frequencies.length; id++) if ((frequencies[id] as number) > 0) seen.push(id);
  seen.sort((a, b) => (frequencies[b] as number) - (frequencies[a] as number) || a - b);
  return createCompactVocabularyFromBase(base, seen.slice(0, options.baseTokenCount));
}

/** Makes a compact vocabulary from an explicit list of base token ids (as saved in a file). */
export async function createCompactVocabulary(options: {
  baseEncoding: string;
  baseTokenIds: readonly number[];
  signal?: AbortSignal;
}): Promise<CompactVocabulary> {
  assertString(options?.baseEncoding, 'baseEncoding');
  const base = await loadBase(options.baseEncoding, options.signal);
  return createCompactVocabularyFromBase(base, options.baseTokenIds);
}

async function loadBase(name: string, signal: AbortSignal | undefined): Promise<OpenAiTokenizer> {
  if (!isEncodingName(name)) throw new UnknownEncodingError({ encodingName: name, knownEncodings: encodingNames });
  return loadTokenizer(name, { signal });
}

/** The checksum of a vocabulary's content. */
export function compactVocabularyChecksum(baseEncoding: string, baseTokenIds: readonly number[]): string {
  return sha256Hex(JSON.stringify({ baseEncoding, byteTokenOffset, specialTokens: compactSpecialTokens, baseTokenIds }));
}

function createCompactVocabularyFromBase(base: OpenAiTokenizer, baseTokenIds: readonly number[]): CompactVocabulary {
  assertTokenArray(baseTokenIds, 'baseTokenIds');
  const baseToCompact = new Int32Array(base.vocabularySize).fill(-1);
  const baseSpecialIds = new Set(base.specialTokens.values());
  baseTokenIds.forEach((baseId, index) => {
    if (!Number.isInteger(baseId) || baseId < 0 || baseId >= base.vocabularySize || baseSpecialIds.has(baseId)) {
      throw new InvalidArgumentError({ argument: `baseTokenIds[${index}]`, message: `${String(baseId)} is not an ordinary token of ${base.encodingName}` });
    }
    if (baseToCompact[baseId] !== -1) {
      throw new InvalidArgumentError({ argument: `baseTokenIds[${index}]`, message: `${baseId} is listed twice` });
    }
    baseToCompact[baseId] = baseTokenOffset + index;
  });
  const ids = Object.freeze([...baseTokenIds]);
  const checksum = compactVocabularyChecksum(base.encodingName, ids);
  const vocabularySize = baseTokenOffset + ids.length;
  const encoder = new TextEncoder();
  const specialBytes = specialTokenTexts.map((text) => encoder.encode(text));
  const singleBytes = Array.from({ length: 256 }, (_, byte) => Uint8Array.of(byte));

  const encode = (text: string): number[] => {
    assertString(text, 'text');
    const result: number[] = [];
    for (const baseId of base.encode(text)) {
      const compactId = baseToCompact[baseId] as number;
      if (compactId !== -1) result.push(compactId);
      else for (const byte of base.tokenBytes(baseId)) result.push(byteTokenOffset + byte);
    }
    return result;
  };

  const tokenBytes = (token: number): Uint8Array => {
    if (!Number.isInteger(token) || token < 0 || token >= vocabularySize) {
      throw new InvalidArgumentError({
        argument: 'tokens',
        message: `contains ${String(token)}, outside the vocabulary of ${vocabularySize} ids`,
      });
    }
    if (token < byteTokenOffset) return specialBytes[token] as Uint8Array;
    if (token < baseTokenOffset) return singleBytes[token - byteTokenOffset] as Uint8Array;
    return base.tokenBytes(ids[token - baseTokenOffset] as number);
  };

  return {
    encodingName: `compact-${ids.length}-${base.encodingName}-${checksum.slice(0, 12)}`,
    baseEncoding: base.encodingName,
    vocabularySize,
    specialTokens: compactSpecialTokens,
    baseTokenIds: ids,
    checksum,
    encode,
    countTokens: (text) => encode(text).length,
    tokenBytes,
    createDecoder: () => createIncrementalByteDecoder({ tokenBytes }),
    decode(tokens) {
      assertTokenArray(tokens, 'tokens');
      return decodeTokenBytes(tokens, tokenBytes);
    },
  };
}
