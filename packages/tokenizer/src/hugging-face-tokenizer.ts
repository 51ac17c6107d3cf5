import { basename, resolve } from 'node:path';
import {
  FileFormatError,
  InvalidArgumentError,
  createIncrementalDecoder,
  throwIfAborted,
  type IncrementalDecoder,
  type Tokenizer,
} from '@codestack/core';
import { Tokenizer as LibraryTokenizer } from '@huggingface/tokenizers';
import { assertString, assertTokenArray } from './argument-checks.js';
import { byteLevelTokenBytes } from './byte-level-alphabet.js';
import { ChatTemplateError } from './chat-template-error.js';
import { compileChatTemplate, type ChatMessage, type ChatTemplate, type RenderChatTemplateOptions } from './chat-template.js';
import { findFillInTheMiddle, type FillInTheMiddle, type VocabularyToken } from './fill-in-the-middle.js';
import { readModelDirectory, type ConfiguredToken, type ModelDirectoryFiles } from './hugging-face-model-files.js';
import { createIncrementalByteDecoder } from './streaming-decoder.js';

/** Decodes whole byte sequences (no streaming state, so one instance serves every call). */
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Options for {@link HuggingFaceTokenizer.encode} and {@link HuggingFaceTokenizer.countTokens}. */
export interface HuggingFaceEncodeOptions {
  /**
   * Recognise the text of added tokens (`<|im_start|>`, `<|fim_prefix|>`, `<think>`,
   * `<|begin_of_text|>` — every entry of `tokenizer.json`'s `added_tokens`) as those tokens.
   * Default `false`: such text is encoded as ordinary text, so untrusted input (a file, a web page,
   * a user message) cannot forge a turn boundary or a fill-in-the-middle marker. Turn it on for
   * text you built, such as a rendered chat template.
   */
  parseSpecialTokens?: boolean;
  /**
   * Add what the model wraps a sequence in — the post-processor of `tokenizer.json`, with
   * `tokenizer_config.json`'s `add_bos_token` / `add_eos_token` overriding it when set (Llama's
   * `<|begin_of_text|>`). Default `false`: `encode` returns the text's tokens only, so counts add
   * up and a rendered chat template (which writes its own BOS) does not get a second one.
   */
  addSpecialTokens?: boolean;
}

/** A core `Tokenizer` made from a Hugging Face model directory by {@link loadHuggingFaceTokenizer}. */
export interface HuggingFaceTokenizer extends Tokenizer {
  /**
   * `hugging-face:NAME:HASH`: NAME is `tokenizer_config.json`'s `name_or_path` or the directory's
   * name, HASH the first 12 hex digits of `tokenizer.json`'s SHA-256 (so equal names mean equal vocabularies).
   */
  readonly encodingName: string;
  /** The model directory it was loaded from, resolved. */
  readonly directory: string;
  /** Encodes text into token ids; see {@link HuggingFaceEncodeOptions} for the defaults. */
  encode(text: string, options?: HuggingFaceEncodeOptions): number[];
  /**
   * Decodes ids into text, special tokens included as their text, without the "clean-up" of
   * spaces before punctuation: `decode(encode(text))` gives `text` back, as the tokenizer's
   * normalizer left it (Qwen's normalizes to NFC). Throws
   * `INVALID_ARGUMENT` for an id outside the vocabulary.
   */
  decode(tokens: readonly number[]): string;
  /** The number of tokens {@link HuggingFaceTokenizer.encode} gives for `text`. */
  countTokens(text: string, options?: HuggingFaceEncodeOptions): number;
  /**
   * A decoder for ids as they arrive. For byte-level vocabularies (Qwen, Llama 3, DeepSeek-Coder,
   * StarCoder) each push decodes only the new ids; otherwise the generic decoder of `@codestack/core`.
   */
  createDecoder(): IncrementalDecoder;
  /** One more than the highest id the tokenizer knows (vocabulary plus added tokens). */
  readonly vocabularySize: number;
  /** Every added token (`tokenizer.json`'s `added_tokens`): text to id. */
  readonly addedTokens: ReadonlyMap<string, number>;
  /** The added tokens marked `special`: text to id. */
  readonly specialTokens: ReadonlyMap<string, number>;
  /** `tokenizer_config.json`'s `bos_token`, when it names one. */
  readonly beginningOfSequenceToken: VocabularyToken | undefined;
  /** `tokenizer_config.json`'s `eos_token`, when it names one. */
  readonly endOfSequenceToken: VocabularyToken | undefined;
  /** `tokenizer_config.json`'s `pad_token`, when it names one. */
  readonly paddingToken: VocabularyToken | undefined;
  /** Whether `encode(text, { addSpecialTokens: true })` starts with the beginning-of-sequence token. */
  readonly addsBeginningOfSequenceToken: boolean;
  /** The id of a token's text (vocabulary entries are in their stored form, such as `Ġthe`), or `undefined`. */
  tokenToId(text: string): number | undefined;
  /** The stored text of a token id, or `undefined`. */
  idToToken(id: number): string | undefined;
  /** The model's chat template, when `tokenizer_config.json` or `chat_template.jinja` has one. */
  readonly chatTemplate: ChatTemplate | undefined;
  /**
   * Renders a conversation with the model's chat template (see {@link ChatTemplate.render}).
   * Throws {@link ChatTemplateError} when the model has no template or the template refuses.
   */
  renderChatTemplate(messages: readonly ChatMessage[], options?: RenderChatTemplateOptions): string;
  /** The fill-in-the-middle markers, when the vocabulary declares a known family of them. */
  readonly fillInTheMiddle: FillInTheMiddle | undefined;
}

function configuredText(token: ConfiguredToken): string | undefined {
  if (typeof token === 'string') return token;
  if (typeof token === 'object' && token !== null) return token.content;
  return undefined;
}

function escapeForPattern(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

function findSubarray(haystack: readonly number[], needle: readonly number[]): number {
  outer: for (let start = 0; start + needle.length <= haystack.length; start++) {
    for (let index = 0; index < needle.length; index++) if (haystack[start + index] !== needle[index]) continue outer;
    return start;
  }
  return -1;
}

function buildLibraryTokenizer(files: ModelDirectoryFiles, withAddedTokens: boolean): LibraryTokenizer {
  const definition = withAddedTokens ? files.definition : { ...files.definition, added_tokens: [] };
  try {
    return new LibraryTokenizer(definition, files.configuration);
  } catch (error) {
    throw new FileFormatError({
      path: files.tokenizerPath,
      reason: 'corrupt',
      message: `@huggingface/tokenizers refused it: ${(error as Error).message}`,
      cause: error,
    });
  }
}

/**
 * Loads the tokenizer of a Hugging Face model directory — its own `tokenizer.json`, with
 * `tokenizer_config.json` (special tokens, `add_bos_token`, chat template) when present — as a
 * core `Tokenizer`, through `@huggingface/tokenizers` (pure JavaScript). Refuses with
 * {@link FileFormatError} naming the path: `MISSING_FILE` without the directory or its
 * `tokenizer.json`; `CORRUPT_FILE` for a file over its size limit (64 MiB for `tokenizer.json`),
 * not UTF-8 or JSON, of the wrong shape, or a chat template that does not parse;
 * `MISMATCHED_FILE` for an unsupported model type or a configured special token the vocabulary lacks.
 */
export async function loadHuggingFaceTokenizer(directory: string, options: { signal?: AbortSignal } = {}): Promise<HuggingFaceTokenizer> {
  assertString(directory, 'directory');
  throwIfAborted(options.signal, 'loadHuggingFaceTokenizer');
  const resolvedDirectory = resolve(directory);
  const files = await readModelDirectory(resolvedDirectory, options.signal);
  throwIfAborted(options.signal, 'loadHuggingFaceTokenizer');
  const { definition, configuration, configurationPath } = files;
  const library = buildLibraryTokenizer(files, true);
  let plainLibrary: LibraryTokenizer | undefined;

  const addedTokens = new Map<string, number>();
  const specialTokens = new Map<string, number>();
  for (const token of definition.added_tokens) {
    addedTokens.set(token.content, token.id);
    if (token.special === true) specialTokens.set(token.content, token.id);
  }
  let vocabularySize = 0;
  const modelVocabulary = definition.model.vocab;
  if (Array.isArray(modelVocabulary)) vocabularySize = modelVocabulary.length;
  else for (const id of Object.values(modelVocabulary as Record<string, number>)) vocabularySize = Math.max(vocabularySize, id + 1);
  for (const id of addedTokens.values()) vocabularySize = Math.max(vocabularySize, id + 1);

  // Text that holds no added token's text encodes the same with or without them, so the second
  // library tokenizer (built without added tokens) is only made when such text shows up.
  const addedContents = definition.added_tokens.flatMap((token) => {
    const normalized = token.normalized === true && library.normalizer !== null ? library.normalizer(token.content) : token.content;
    return normalized === token.content ? [token.content] : [token.content, normalized];
  });
  const addedTokenPattern =
    addedContents.length === 0 ? undefined : new RegExp(addedContents.sort((a, b) => b.length - a.length).map(escapeForPattern).join('|'), 'u');
  const checkNormalizedText = definition.added_tokens.some((token) => token.normalized === true) && library.normalizer !== null;
  const holdsAddedTokenText = (text: string): boolean =>
    addedTokenPattern !== undefined &&
    (addedTokenPattern.test(text) || (checkNormalizedText && addedTokenPattern.test((library.normalizer as (text: string) => string)(text))));

  const encodeText = (text: string, parseSpecialTokens: boolean): number[] => {
    if (text.length === 0) return [];
    if (parseSpecialTokens || !holdsAddedTokenText(text)) return library.encode(text, { add_special_tokens: false }).ids;
    plainLibrary ??= buildLibraryTokenizer(files, false);
    return plainLibrary.encode(text, { add_special_tokens: false }).ids;
  };

  const tokenToId = (text: string): number | undefined => library.token_to_id(text);
  const namedToken = (field: 'bos_token' | 'eos_token' | 'pad_token'): VocabularyToken | undefined => {
    const text = configuredText(configuration[field]);
    if (text === undefined) return undefined;
    const id = tokenToId(text);
    if (id === undefined) {
      throw new FileFormatError({ path: configurationPath, reason: 'mismatch', message: `"${field}" ${JSON.stringify(text)} is not in tokenizer.json's vocabulary` });
    }
    return { text, id };
  };
  const beginningOfSequenceToken = namedToken('bos_token');
  const endOfSequenceToken = namedToken('eos_token');
  const paddingToken = namedToken('pad_token');

  // What the post-processor puts around one sequence, found by running it on a probe.
  const probe = 'a';
  const probeIds = library.encode(probe, { add_special_tokens: false }).ids;
  const wrappedIds = library.encode(probe, { add_special_tokens: true }).ids;
  const probeStart = findSubarray(wrappedIds, probeIds);
  let before: number[] = probeStart < 0 ? [] : wrappedIds.slice(0, probeStart);
  let after: number[] = probeStart < 0 ? [] : wrappedIds.slice(probeStart + probeIds.length);
  if (beginningOfSequenceToken !== undefined && typeof configuration.add_bos_token === 'boolean') {
    before = before.filter((id) => id !== beginningOfSequenceToken.id);
    if (configuration.add_bos_token) before.unshift(beginningOfSequenceToken.id);
  }
  if (endOfSequenceToken !== undefined && typeof configuration.add_eos_token === 'boolean') {
    after = after.filter((id) => id !== endOfSequenceToken.id);
    if (configuration.add_eos_token) after.push(endOfSequenceToken.id);
  }

  const chatTemplateVariables: Record<string, string> = {};
  for (const field of ['bos_token', 'eos_token', 'pad_token', 'unk_token'] as const) {
    const text = configuredText(configuration[field]);
    if (text !== undefined) chatTemplateVariables[field] = text;
  }
  const chatTemplate = files.chatTemplate === undefined ? undefined : compileChatTemplate(files.chatTemplate.source, files.chatTemplate.path, chatTemplateVariables);
  const fillInTheMiddle = findFillInTheMiddle(tokenToId, (text) => encodeText(text, false));

  const byteLevel = definition.decoder?.type === 'ByteLevel';
  const tokenBytesCache: (Uint8Array | undefined)[] = [];
  const utf8 = new TextEncoder();
  const checkId = (token: unknown, argument: string): string => {
    const text = typeof token === 'number' && Number.isInteger(token) && token >= 0 && token < vocabularySize ? library.id_to_token(token) : undefined;
    if (text === undefined) {
      throw new InvalidArgumentError({ argument, message: `${String(token)} is not a token id of this vocabulary (0 to ${vocabularySize - 1})` });
    }
    return text;
  };
  const tokenBytes = (token: number): Uint8Array => {
    const cached = tokenBytesCache[token];
    if (cached !== undefined) return cached;
    const text = checkId(token, 'token');
    const bytes = addedTokens.get(text) === token ? utf8.encode(text) : byteLevelTokenBytes(text);
    tokenBytesCache[token] = bytes;
    return bytes;
  };

  const name = configuration.name_or_path !== undefined && configuration.name_or_path.length > 0 ? configuration.name_or_path : basename(resolvedDirectory);
  const tokenizer: HuggingFaceTokenizer = {
    encodingName: `hugging-face:${name}:${files.definitionSha256.slice(0, 12)}`,
    directory: resolvedDirectory,
    encode(text, encodeOptions = {}) {
      assertString(text, 'text');
      const ids = encodeText(text, encodeOptions.parseSpecialTokens === true);
      if (encodeOptions.addSpecialTokens !== true) return ids;
      if (probeStart < 0) {
        throw new InvalidArgumentError({ argument: 'addSpecialTokens', message: `the post-processor of ${files.tokenizerPath} does not wrap a sequence in a way this package can follow` });
      }
      return [...before, ...ids, ...after];
    },
    decode(tokens) {
      assertTokenArray(tokens, 'tokens');
      if (tokens.length === 0) return '';
      if (byteLevel) {
        const pieces = tokens.map((token) => tokenBytes(token));
        const bytes = new Uint8Array(pieces.reduce((total, piece) => total + piece.length, 0));
        let offset = 0;
        for (const piece of pieces) {
          bytes.set(piece, offset);
          offset += piece.length;
        }
        return utf8Decoder.decode(bytes);
      }
      tokens.forEach((token, index) => checkId(token, `tokens[${index}]`));
      return library.decode([...tokens], { clean_up_tokenization_spaces: false });
    },
    countTokens(text, encodeOptions) {
      return tokenizer.encode(text, encodeOptions).length;
    },
    createDecoder() {
      return byteLevel ? createIncrementalByteDecoder({ tokenBytes }) : createIncrementalDecoder(tokenizer);
    },
    vocabularySize,
    addedTokens,
    specialTokens,
    beginningOfSequenceToken,
    endOfSequenceToken,
    paddingToken,
    addsBeginningOfSequenceToken: beginningOfSequenceToken !== undefined && before[0] === beginningOfSequenceToken.id,
    tokenToId(text) {
      assertString(text, 'text');
      return tokenToId(text);
    },
    idToToken(id) {
      return typeof id === 'number' && Number.isInteger(id) && id >= 0 ? library.id_to_token(id) : undefined;
    },
    chatTemplate,
    renderChatTemplate(messages, renderOptions) {
      if (chatTemplate === undefined) {
        throw new ChatTemplateError({ path: configurationPath, message: 'this model has no chat template (no "chat_template" here and no chat_template.jinja beside it)' });
      }
      return chatTemplate.render(messages, renderOptions);
    },
    fillInTheMiddle,
  };
  return tokenizer;
}
