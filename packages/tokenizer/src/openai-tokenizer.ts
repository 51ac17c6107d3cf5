import { InvalidArgumentError, throwIfAborted, type IncrementalDecoder, type Tokenizer } from '@codestack/core';
import type { ChatMessage } from 'gpt-tokenizer/GptEncoding';
import { assertString, assertTokenArray } from './argument-checks.js';
import {
  type EncodingName,
  encodingNames,
  isEncodingName,
  type LoadedEncoding,
  loadEncoding,
  loadEncodingSync,
} from './encoding-registry.js';
import { getModelInfo } from './model-registry.js';
import { createIncrementalByteDecoder } from './streaming-decoder.js';
import { decodeTokenBytes } from './token-bytes.js';
import { UnknownEncodingError } from './unknown-encoding-error.js';
import { UnknownModelError } from './unknown-model-error.js';

/** Options of {@link OpenAiTokenizer.encode} and {@link OpenAiTokenizer.countTokens}. */
export interface EncodeOptions {
  /**
   * Special-token strings (such as `<|endoftext|>`) to encode as their special token ids, or `'all'`.
   * By default none: special-token strings in the text are encoded as plain text and never throw.
   */
  allowedSpecialTokens?: 'all' | readonly string[];
}

/** One chat message for {@link OpenAiTokenizer.countChatTokens}. */
export interface ChatMessageInput {
  /** `system`, `user`, `assistant` or `tool`. */
  role: 'system' | 'user' | 'assistant' | 'tool' | 'developer';
  /** The message text. */
  content: string;
  /** An optional participant name. */
  name?: string;
}

/** A tokenizer for one of the OpenAI BPE encodings, returned by {@link getTokenizer}. */
export interface OpenAiTokenizer extends Tokenizer {
  /** The encoding's name, such as `o200k_base`. */
  readonly encodingName: EncodingName;
  /** The model name when the tokenizer was asked for by model, else `undefined`. */
  readonly modelName: string | undefined;
  /** The model's context window in tokens, when asked for by a model that publishes one. */
  readonly contextWindow: number | undefined;
  /** The number of token ids (including special tokens). */
  readonly vocabularySize: number;
  /** Encodes text. Special-token strings are plain text unless allowed in `options`. */
  encode(text: string, options?: EncodeOptions): number[];
  /**
   * Decodes token ids; throws `INVALID_ARGUMENT` for an id outside the vocabulary. Bytes that do
   * not form a whole character (a prefix cut inside one) become U+FFFD.
   */
  decode(tokens: readonly number[]): string;
  /** The number of tokens `text` encodes to, without building the array. */
  countTokens(text: string, options?: EncodeOptions): number;
  /** The UTF-8 bytes one token stands for (special tokens: the bytes of their string). */
  tokenBytes(token: number): Uint8Array;
  /** A decoder for ids as they arrive: each push decodes only the new ids' bytes, holding back a split character. */
  createDecoder(): IncrementalDecoder;
  /** The special-token strings of this encoding and their ids. */
  readonly specialTokens: ReadonlyMap<string, number>;
  /**
   * The tokens a chat request with these messages takes, in the chat format of `modelName`
   * (defaults to the model this tokenizer was made for), including the priming of the reply.
   */
  countChatTokens(messages: readonly ChatMessageInput[], modelName?: string): number;
}

// Tells gpt-tokenizer not to scan for disallowed special tokens: they are encoded as plain text.
const plainTextOptions = { disallowedSpecial: new Set<string>() };
const encoder = new TextEncoder();

// All special-token strings gpt-tokenizer knows across its encodings.
const knownSpecialTokenStrings = [
  '<|endoftext|>',
  '<|fim_prefix|>',
  '<|fim_middle|>',
  '<|fim_suffix|>',
  '<|im_start|>',
  '<|im_end|>',
  '<|im_sep|>',
  '<|endofprompt|>',
  '<|startoftext|>',
  '<|start|>',
  '<|end|>',
  '<|message|>',
  '<|channel|>',
  '<|return|>',
  '<|constrain|>',
  '<|call|>',
];

class EncodingTokenizer implements OpenAiTokenizer {
  readonly encodingName: EncodingName;
  readonly modelName: string | undefined;
  readonly contextWindow: number | undefined;
  readonly vocabularySize: number;
  readonly #encoding: LoadedEncoding;
  #specialTokens: Map<string, number> | undefined;
  #tokenBytes: (Uint8Array | undefined)[] = [];

  constructor(encoding: LoadedEncoding, modelName: string | undefined, contextWindow: number | undefined) {
    this.#encoding = encoding;
    this.encodingName = encoding.name;
    this.modelName = modelName;
    this.contextWindow = contextWindow;
    let largest = encoding.ranks.length - 1;
    for (const id of this.specialTokens.values()) largest = Math.max(largest, id);
    this.vocabularySize = largest + 1;
    this.encode = this.encode.bind(this);
    this.decode = this.decode.bind(this);
    this.countTokens = this.countTokens.bind(this);
  }

  get specialTokens(): ReadonlyMap<string, number> {
    if (this.#specialTokens === undefined) {
      const map = new Map<string, number>();
      const { api, ranks } = this.#encoding;
      for (const text of knownSpecialTokenStrings) {
        // At the start of the text gpt-tokenizer does recognise an allowed special token.
        const ids = api.encode(text, { allowedSpecial: new Set([text]) });
        const id = ids[0];
        if (ids.length === 1 && id !== undefined && id >= ranks.length) map.set(text, id);
      }
      this.#specialTokens = map;
    }
    return this.#specialTokens;
  }

  encode(text: string, options?: EncodeOptions): number[] {
    if (typeof text !== 'string') assertString(text, 'text');
    if (options?.allowedSpecialTokens === undefined) return this.#encoding.api.encode(text, plainTextOptions);
    return this.#encodeWithSpecialTokens(text, options.allowedSpecialTokens);
  }

  countTokens(text: string, options?: EncodeOptions): number {
    if (typeof text !== 'string') assertString(text, 'text');
    if (options?.allowedSpecialTokens === undefined) return this.#encoding.api.countTokens(text, plainTextOptions);
    return this.#encodeWithSpecialTokens(text, options.allowedSpecialTokens).length;
  }

  decode(tokens: readonly number[]): string {
    assertTokenArray(tokens, 'tokens');
    // Not gpt-tokenizer's decode: it streams through one shared TextDecoder, so a call that ends
    // inside a character leaks a U+FFFD into the next call. Here each call decodes on its own.
    return decodeTokenBytes(tokens, (token) => this.tokenBytes(token));
  }

  createDecoder(): IncrementalDecoder {
    return createIncrementalByteDecoder(this);
  }

  tokenBytes(token: number): Uint8Array {
    const cached = this.#tokenBytes[token];
    if (cached !== undefined) return cached;
    const rank = Number.isInteger(token) && token >= 0 ? this.#encoding.ranks[token] : undefined;
    let bytes: Uint8Array;
    if (typeof rank === 'string') bytes = encoder.encode(rank);
    else if (rank !== undefined) bytes = Uint8Array.from(rank);
    else bytes = encoder.encode(this.#specialTokenText(token));
    this.#tokenBytes[token] = bytes;
    return bytes;
  }

  #specialTokenText(token: number): string {
    for (const [text, id] of this.specialTokens) if (id === token) return text;
    throw new InvalidArgumentError({
      argument: 'tokens',
      message: `contains ${String(token)}, which is not a token id of ${this.encodingName}`,
    });
  }

  countChatTokens(messages: readonly ChatMessageInput[], modelName = this.modelName): number {
    if (!Array.isArray(messages)) {
      throw new InvalidArgumentError({ argument: 'messages', message: 'expected an array of chat messages' });
    }
    messages.forEach((message, index) => {
      if (typeof message !== 'object' || message === null) {
        throw new InvalidArgumentError({ argument: `messages[${index}]`, message: 'expected an object' });
      }
      assertString(message.content, `messages[${index}].content`);
    });
    if (modelName === undefined) {
      throw new InvalidArgumentError({
        argument: 'modelName',
        message: 'chat formats differ between models: pass a model name, or get the tokenizer by model name',
      });
    }
    const info = getModelInfo(modelName);
    const tokenizer = info.encodingName === this.encodingName ? this : (getTokenizer(modelName) as EncodingTokenizer);
    return tokenizer.#countChat(messages, modelName);
  }

  #countChat(messages: readonly ChatMessageInput[], modelName: string): number {
    try {
      const chat = this.#encoding.api.encodeChat(
        messages as readonly ChatMessage[],
        modelName as Parameters<LoadedEncoding['api']['encodeChat']>[1],
        plainTextOptions,
      );
      return chat.length;
    } catch (error) {
      throw new UnknownModelError({
        modelName,
        message: `Model '${modelName}' has no known chat format: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
  }

  #encodeWithSpecialTokens(text: string, allowed: 'all' | readonly string[]): number[] {
    const specialTokens = this.specialTokens;
    const names = allowed === 'all' ? [...specialTokens.keys()] : allowed.filter((name) => specialTokens.has(name));
    if (names.length === 0) return this.#encoding.api.encode(text, plainTextOptions);
    const pattern = new RegExp(names.map(escapeRegularExpression).join('|'), 'g');
    const tokens: number[] = [];
    let start = 0;
    for (const match of text.matchAll(pattern)) {
      const index = match.index;
      if (index > start) pushAll(tokens, this.#encoding.api.encode(text.slice(start, index), plainTextOptions));
      tokens.push(specialTokens.get(match[0]) as number);
      start = index + match[0].length;
    }
    if (start < text.length) pushAll(tokens, this.#encoding.api.encode(text.slice(start), plainTextOptions));
    return tokens;
  }
}

function pushAll(target: number[], source: readonly number[]): void {
  for (const value of source) target.push(value);
}

function escapeRegularExpression(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const tokenizers = new Map<string, OpenAiTokenizer>();

function resolveName(encodingOrModel: string): {
  encodingName: EncodingName;
  modelName: string | undefined;
  contextWindow: number | undefined;
} {
  assertString(encodingOrModel, 'encodingOrModel');
  if (isEncodingName(encodingOrModel)) {
    return { encodingName: encodingOrModel, modelName: undefined, contextWindow: undefined };
  }
  if (/_(base|edit|harmony)$/.test(encodingOrModel)) {
    throw new UnknownEncodingError({ encodingName: encodingOrModel, knownEncodings: encodingNames });
  }
  const info = getModelInfo(encodingOrModel);
  return { encodingName: info.encodingName, modelName: info.modelName, contextWindow: info.contextWindow };
}

/**
 * Returns the tokenizer of an encoding (`cl100k_base`, `o200k_base`, …) or of a model
 * (`gpt-4o`, `gpt-4`, …), loading the encoding's module on first use. Synchronous: it `require`s
 * the CommonJS build; use {@link loadTokenizer} to load with a dynamic `import()` instead.
 *
 * Throws `UNKNOWN_ENCODING` ({@link UnknownEncodingError}) for an encoding-like name (`*_base`) it
 * does not ship, `UNKNOWN_MODEL` ({@link UnknownModelError}) for any other unknown name, and
 * `INVALID_ARGUMENT` for a non-string.
 */
export function getTokenizer(encodingOrModel: string): OpenAiTokenizer {
  const cached = tokenizers.get(encodingOrModel);
  if (cached !== undefined) return cached;
  const { encodingName, modelName, contextWindow } = resolveName(encodingOrModel);
  const tokenizer = new EncodingTokenizer(loadEncodingSync(encodingName), modelName, contextWindow);
  tokenizers.set(encodingOrModel, tokenizer);
  return tokenizer;
}

/**
 * Like {@link getTokenizer}, but loads the encoding's ES module with a dynamic `import()` the first
 * time it is asked for, so that an application only pays for the encodings it uses. `signal` stops
 * the wait with `ABORTED` (the module still finishes loading into the cache).
 */
export async function loadTokenizer(
  encodingOrModel: string,
  options: { signal?: AbortSignal } = {},
): Promise<OpenAiTokenizer> {
  throwIfAborted(options.signal, 'loadTokenizer');
  const cached = tokenizers.get(encodingOrModel);
  if (cached !== undefined) return cached;
  const { encodingName, modelName, contextWindow } = resolveName(encodingOrModel);
  const encoding = await loadEncoding(encodingName);
  throwIfAborted(options.signal, 'loadTokenizer');
  const tokenizer = tokenizers.get(encodingOrModel) ?? new EncodingTokenizer(encoding, modelName, contextWindow);
  tokenizers.set(encodingOrModel, tokenizer);
  return tokenizer;
}

/**
 * The token count of a list of chat messages for a named model, in that model's chat format
 * (message framing tokens and the priming of the assistant's reply included).
 */
export function countChatTokens(messages: readonly ChatMessageInput[], modelName: string): number {
  return getTokenizer(modelName).countChatTokens(messages, modelName);
}
