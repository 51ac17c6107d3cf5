import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FileFormatError, sha256Hex, throwIfAborted } from '@codestack/core';

/** The largest `tokenizer.json` read: 64 MiB (Qwen3's is 11 MB, Llama 3's 9 MB). */
export const tokenizerFileByteLimit = 64 * 1024 * 1024;
/** The largest `tokenizer_config.json` read: 4 MiB (Llama 3's is 50 KB). */
export const tokenizerConfigurationFileByteLimit = 4 * 1024 * 1024;
/** The largest `chat_template.jinja` read: 1 MiB. */
export const chatTemplateFileByteLimit = 1024 * 1024;

/** One entry of `tokenizer.json`'s `added_tokens`. */
export interface AddedTokenDefinition {
  id: number;
  content: string;
  special?: boolean;
  normalized?: boolean;
  [key: string]: unknown;
}

/** The parts of `tokenizer.json` this package reads; the rest goes to `@huggingface/tokenizers` as is. */
export interface TokenizerDefinition {
  model: { type?: string; vocab: unknown; merges?: unknown; [key: string]: unknown };
  added_tokens: AddedTokenDefinition[];
  normalizer: { type: string } | null;
  pre_tokenizer: { type: string } | null;
  post_processor: { type: string } | null;
  decoder: { type: string } | null;
  [key: string]: unknown;
}

/** A special token named in `tokenizer_config.json`: its text, or `{ content }`. */
export type ConfiguredToken = string | { content: string } | null | undefined;

/** The parts of `tokenizer_config.json` this package reads. */
export interface TokenizerConfiguration {
  add_bos_token?: boolean;
  add_eos_token?: boolean;
  bos_token?: ConfiguredToken;
  eos_token?: ConfiguredToken;
  pad_token?: ConfiguredToken;
  unk_token?: ConfiguredToken;
  chat_template?: string | { name: string; template: string }[];
  name_or_path?: string;
  [key: string]: unknown;
}

/** What {@link readModelDirectory} found and checked. */
export interface ModelDirectoryFiles {
  tokenizerPath: string;
  configurationPath: string;
  definition: TokenizerDefinition;
  /** `{}` when the directory has no `tokenizer_config.json`. */
  configuration: TokenizerConfiguration;
  /** SHA-256 of `tokenizer.json`'s bytes, hex. */
  definitionSha256: string;
  /** The chat template and the file it came from, when there is one. */
  chatTemplate: { source: string; path: string } | undefined;
}

const supportedModelTypes = new Set(['BPE', 'WordPiece', 'WordLevel', 'Unigram']);
const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readBoundedFile(
  path: string,
  limit: number,
  what: string,
  required: boolean,
  signal: AbortSignal | undefined,
): Promise<Uint8Array | undefined> {
  let size: number;
  try {
    const entry = await stat(path);
    if (!entry.isFile()) throw new FileFormatError({ path, reason: 'corrupt', message: `expected ${what}, found something that is not a file` });
    size = entry.size;
  } catch (error) {
    if (FileFormatError.isInstance(error)) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      if (!required) return undefined;
      throw new FileFormatError({ path, reason: 'missing', message: `expected ${what}, but there is no such file`, cause: error });
    }
    throw new FileFormatError({ path, reason: 'corrupt', message: `${what} cannot be read`, cause: error });
  }
  if (size > limit) {
    throw new FileFormatError({ path, reason: 'corrupt', message: `${size} bytes, more than the ${limit}-byte limit for ${what}` });
  }
  try {
    const bytes = await readFile(path, { signal });
    if (bytes.length > limit) {
      throw new FileFormatError({ path, reason: 'corrupt', message: `${bytes.length} bytes, more than the ${limit}-byte limit for ${what}` });
    }
    return bytes;
  } catch (error) {
    throwIfAborted(signal, 'loadHuggingFaceTokenizer');
    if (FileFormatError.isInstance(error)) throw error;
    throw new FileFormatError({ path, reason: 'corrupt', message: `${what} cannot be read`, cause: error });
  }
}

function decodeText(path: string, bytes: Uint8Array): string {
  try {
    return fatalDecoder.decode(bytes);
  } catch (error) {
    throw new FileFormatError({ path, reason: 'corrupt', message: 'not valid UTF-8', cause: error });
  }
}

function parseJsonObject(path: string, bytes: Uint8Array): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeText(path, bytes));
  } catch (error) {
    if (FileFormatError.isInstance(error)) throw error;
    throw new FileFormatError({ path, reason: 'corrupt', message: 'not valid JSON', cause: error });
  }
  if (!isObject(parsed)) throw new FileFormatError({ path, reason: 'corrupt', message: 'expected a JSON object' });
  return parsed;
}

function checkComponent(path: string, value: unknown, field: string): { type: string } | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value) || typeof value.type !== 'string') {
    throw new FileFormatError({ path, reason: 'corrupt', message: `"${field}" must be null or an object with a string "type"` });
  }
  return value as { type: string };
}

/** Checks the shape of a parsed `tokenizer.json`. */
export function checkTokenizerDefinition(path: string, value: Record<string, unknown>): TokenizerDefinition {
  const refuse = (message: string, reason: 'corrupt' | 'mismatch' = 'corrupt'): never => {
    throw new FileFormatError({ path, reason, message });
  };
  const model = value.model;
  if (!isObject(model)) refuse('expected a Hugging Face tokenizer.json with a "model" object');
  const { type, vocab, merges } = model as Record<string, unknown>;
  if (type !== undefined && (typeof type !== 'string' || !supportedModelTypes.has(type))) {
    refuse(`model type ${JSON.stringify(type)} is not one of ${[...supportedModelTypes].join(', ')}`, 'mismatch');
  }
  if (type === 'Unigram') {
    if (!Array.isArray(vocab) || !vocab.every((entry) => Array.isArray(entry) && typeof entry[0] === 'string' && typeof entry[1] === 'number')) {
      refuse('"model.vocab" of a Unigram model must be an array of [piece, score] pairs');
    }
  } else {
    if (!isObject(vocab)) refuse('"model.vocab" must be an object from token to id');
    for (const id of Object.values(vocab as Record<string, unknown>)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) refuse('"model.vocab" has an id that is not a whole non-negative number');
    }
  }
  if (type === 'BPE' || (type === undefined && merges !== undefined)) {
    if (
      !Array.isArray(merges) ||
      !merges.every((merge) => typeof merge === 'string' || (Array.isArray(merge) && merge.length === 2 && typeof merge[0] === 'string' && typeof merge[1] === 'string'))
    ) {
      refuse('"model.merges" must be an array of "left right" strings or [left, right] pairs');
    }
  }
  const addedTokens = value.added_tokens ?? [];
  if (!Array.isArray(addedTokens)) refuse('"added_tokens" must be an array');
  for (const token of addedTokens as unknown[]) {
    if (
      !isObject(token) ||
      typeof token.id !== 'number' ||
      !Number.isInteger(token.id) ||
      token.id < 0 ||
      typeof token.content !== 'string' ||
      token.content.length === 0 ||
      (token.special !== undefined && typeof token.special !== 'boolean') ||
      (token.normalized !== undefined && typeof token.normalized !== 'boolean')
    ) {
      refuse('an entry of "added_tokens" is not { id: whole number, content: non-empty string, special?: boolean, normalized?: boolean }');
    }
  }
  return {
    ...value,
    model: model as TokenizerDefinition['model'],
    added_tokens: addedTokens as AddedTokenDefinition[],
    normalizer: checkComponent(path, value.normalizer, 'normalizer'),
    pre_tokenizer: checkComponent(path, value.pre_tokenizer, 'pre_tokenizer'),
    post_processor: checkComponent(path, value.post_processor, 'post_processor'),
    decoder: checkComponent(path, value.decoder, 'decoder'),
  };
}

function isConfiguredToken(value: unknown): boolean {
  return value === undefined || value === null || typeof value === 'string' || (isObject(value) && typeof value.content === 'string');
}

/** Checks the shape of a parsed `tokenizer_config.json` (the fields this package reads). */
export function checkTokenizerConfiguration(path: string, value: Record<string, unknown>): TokenizerConfiguration {
  const refuse = (message: string): never => {
    throw new FileFormatError({ path, reason: 'corrupt', message });
  };
  for (const field of ['add_bos_token', 'add_eos_token']) {
    if (value[field] !== undefined && value[field] !== null && typeof value[field] !== 'boolean') refuse(`"${field}" must be true or false`);
  }
  for (const field of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) {
    if (!isConfiguredToken(value[field])) refuse(`"${field}" must be null, a string or { "content": string }`);
  }
  const template = value.chat_template;
  if (
    template !== undefined &&
    template !== null &&
    typeof template !== 'string' &&
    !(Array.isArray(template) && template.every((entry) => isObject(entry) && typeof entry.name === 'string' && typeof entry.template === 'string'))
  ) {
    refuse('"chat_template" must be a string or an array of { "name", "template" }');
  }
  if (value.name_or_path !== undefined && typeof value.name_or_path !== 'string') refuse('"name_or_path" must be a string');
  return value as TokenizerConfiguration;
}

function pickChatTemplate(template: TokenizerConfiguration['chat_template']): string | undefined {
  if (typeof template === 'string') return template;
  if (Array.isArray(template)) return (template.find((entry) => entry.name === 'default') ?? template[0])?.template;
  return undefined;
}

/**
 * Reads and checks a Hugging Face model directory's tokenizer files: `tokenizer.json` (required),
 * `tokenizer_config.json` (optional) and `chat_template.jinja` (optional, used when the
 * configuration has no `chat_template`). Every refusal is a {@link FileFormatError} naming the path.
 */
export async function readModelDirectory(directory: string, signal?: AbortSignal): Promise<ModelDirectoryFiles> {
  try {
    const entry = await stat(directory);
    if (!entry.isDirectory()) {
      throw new FileFormatError({ path: directory, reason: 'missing', message: 'expected a model directory holding tokenizer.json, found a file' });
    }
  } catch (error) {
    if (FileFormatError.isInstance(error)) throw error;
    throw new FileFormatError({ path: directory, reason: 'missing', message: 'expected a model directory holding tokenizer.json, but it cannot be read', cause: error });
  }
  const tokenizerPath = join(directory, 'tokenizer.json');
  const configurationPath = join(directory, 'tokenizer_config.json');
  const tokenizerBytes = (await readBoundedFile(tokenizerPath, tokenizerFileByteLimit, 'a Hugging Face tokenizer.json', true, signal)) as Uint8Array;
  const definition = checkTokenizerDefinition(tokenizerPath, parseJsonObject(tokenizerPath, tokenizerBytes));
  const configurationBytes = await readBoundedFile(configurationPath, tokenizerConfigurationFileByteLimit, 'tokenizer_config.json', false, signal);
  const configuration =
    configurationBytes === undefined ? {} : checkTokenizerConfiguration(configurationPath, parseJsonObject(configurationPath, configurationBytes));
  let chatTemplate: ModelDirectoryFiles['chatTemplate'];
  const configured = pickChatTemplate(configuration.chat_template);
  if (configured !== undefined) {
    chatTemplate = { source: configured, path: configurationPath };
  } else {
    const templatePath = join(directory, 'chat_template.jinja');
    const templateBytes = await readBoundedFile(templatePath, chatTemplateFileByteLimit, 'a Jinja chat template', false, signal);
    if (templateBytes !== undefined) chatTemplate = { source: decodeText(templatePath, templateBytes), path: templatePath };
  }
  return { tokenizerPath, configurationPath, definition, configuration, definitionSha256: sha256Hex(tokenizerBytes), chatTemplate };
}
