import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileFormatError, type LanguageModelMessage } from '@codestack/core';
import type { HuggingFaceTokenizer } from '@codestack/tokenizer';
import { renderChatPrompt } from '../../prompt/chat-template.js';
import type { PromptEncoder } from './local-language-model.js';

/**
 * The context window a Hugging Face model gets unless `contextTokens` says otherwise: its
 * `max_position_embeddings`, capped at this many tokens. Qwen declares 32,768 to 131,072 positions;
 * on a CPU a prompt of 8,192 tokens already takes minutes and its key/value cache hundreds of MB.
 */
export const defaultHuggingFaceContextTokens = 8192;

/** Whether `directory` is a Hugging Face model download: a `tokenizer.json` beside `config.json`. */
export function isHuggingFaceDirectory(directory: string): boolean {
  return existsSync(join(directory, 'tokenizer.json')) && existsSync(join(directory, 'config.json'));
}

async function readJsonObject(path: string): Promise<Record<string, unknown> | undefined> {
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new FileFormatError({ path, reason: 'corrupt', message: `not JSON: ${(error as Error).message}`, cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new FileFormatError({ path, reason: 'corrupt', message: 'expected a JSON object' });
  return parsed as Record<string, unknown>;
}

function idsOf(value: unknown): number[] {
  const list = Array.isArray(value) ? value : [value];
  return list.filter((id): id is number => typeof id === 'number' && Number.isInteger(id) && id >= 0);
}

/**
 * The ids that end a reply: `generation_config.json`'s `eos_token_id` (what `transformers`'
 * `generate` stops on), `config.json`'s `eos_token_id` (a number or a list) and
 * `tokenizer_config.json`'s `eos_token`, all of them, in that order and without repeats. (A base
 * Qwen2.5 says `<|endoftext|>` in `config.json` and `<|im_end|>` in `tokenizer_config.json`; a chat
 * reply ends with the second.) Ids outside the model's vocabulary are left out.
 */
export async function readEndOfSequenceIds(directory: string, tokenizer: HuggingFaceTokenizer, vocabularySize: number): Promise<number[]> {
  const generation = await readJsonObject(join(directory, 'generation_config.json'));
  const config = await readJsonObject(join(directory, 'config.json'));
  const ids = [...idsOf(generation?.eos_token_id), ...idsOf(config?.eos_token_id), ...(tokenizer.endOfSequenceToken ? [tokenizer.endOfSequenceToken.id] : [])];
  return [...new Set(ids)].filter((id) => id < vocabularySize);
}

function escapeForPattern(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/** A private-use character that occurs in none of `texts`, to build placeholders from. */
function unusedMarker(texts: readonly string[]): string {
  for (let code = 0xe000; code <= 0xf8ff; code++) {
    const marker = String.fromCharCode(code);
    if (!texts.some((text) => text.includes(marker))) return marker;
  }
  throw new Error('every private-use character occurs in the prompt');
}

/** The added-token patterns of each tokenizer, built once: they depend only on its added tokens. */
const addedTokenPatternCache = new WeakMap<HuggingFaceTokenizer, { global: RegExp; single: RegExp } | undefined>();

function addedTokenPatterns(tokenizer: HuggingFaceTokenizer): { global: RegExp; single: RegExp } | undefined {
  if (addedTokenPatternCache.has(tokenizer)) return addedTokenPatternCache.get(tokenizer);
  const addedTexts = [...tokenizer.addedTokens.keys()].sort((a, b) => b.length - a.length);
  const source = addedTexts.map(escapeForPattern).join('|');
  const patterns = addedTexts.length === 0 ? undefined : { global: new RegExp(source, 'gu'), single: new RegExp(source, 'u') };
  addedTokenPatternCache.set(tokenizer, patterns);
  return patterns;
}

/**
 * Encodes a conversation with the model's own chat template so that the template's control tokens
 * (`<|im_start|>`, `<|eot_id|>`) become their ids while the same text typed inside a message stays
 * ordinary text — so a file or web page pasted into a message cannot close the turn or open a
 * system turn.
 *
 * When no message holds the text of an added token, this is exactly the template rendered
 * (`addGenerationPrompt: true`) and encoded with `parseSpecialTokens: true`, token for token what
 * `apply_chat_template(tokenize=True)` of `transformers` gives. Otherwise every such text in a
 * message is swapped for a placeholder before rendering; the rendered text is then cut at the
 * template's own added tokens (each becomes its id) and the text between them, with the
 * placeholders put back, is encoded as plain text. (The template therefore sees the placeholder, not
 * the text: Qwen3's template does not find `</think>` in such a message.)
 */
export function encodeChatWithTemplate(tokenizer: HuggingFaceTokenizer, messages: readonly LanguageModelMessage[]): number[] {
  const render = (list: readonly LanguageModelMessage[]): string => tokenizer.renderChatTemplate(list.map((message) => ({ role: message.role, content: message.content })), { addGenerationPrompt: true });
  const patterns = addedTokenPatterns(tokenizer);
  if (patterns === undefined) return tokenizer.encode(render(messages));
  const addedPattern = patterns.global;
  if (!messages.some((message) => patterns.single.test(message.content))) {
    return tokenizer.encode(render(messages), { parseSpecialTokens: true });
  }
  const marker = unusedMarker([...messages.map((message) => message.content), tokenizer.chatTemplate?.source ?? '']);
  const literals: string[] = [];
  const guarded = messages.map((message) => ({
    ...message,
    content: message.content.replace(addedPattern, (text) => `${marker}${literals.push(text) - 1}${marker}`),
  }));
  const rendered = render(guarded);
  const pieces = new RegExp(`${marker}(\\d+)${marker}|${addedPattern.source}`, 'gu');
  const ids: number[] = [];
  let plain = '';
  let last = 0;
  for (const match of rendered.matchAll(pieces)) {
    plain += rendered.slice(last, match.index);
    last = match.index + match[0].length;
    if (match[1] !== undefined) {
      plain += literals[Number(match[1])] ?? '';
      continue;
    }
    ids.push(...tokenizer.encode(plain), tokenizer.addedTokens.get(match[0])!);
    plain = '';
  }
  plain += rendered.slice(last);
  ids.push(...tokenizer.encode(plain));
  return ids;
}

/**
 * How a Hugging Face model receives its prompts: a completion prompt as plain text (after the
 * beginning-of-sequence token when the tokenizer adds one, as Llama 3's does), a conversation with
 * its own chat template ({@link encodeChatWithTemplate}; the plain `### User` sections when it has
 * none) and a fill-in-the-middle prompt with its own markers when it declares them. Text from the
 * caller is never parsed for control tokens, except the template's.
 */
export function huggingFacePromptEncoder(tokenizer: HuggingFaceTokenizer): PromptEncoder {
  const start = tokenizer.addsBeginningOfSequenceToken && tokenizer.beginningOfSequenceToken ? [tokenizer.beginningOfSequenceToken.id] : [];
  const fim = tokenizer.fillInTheMiddle;
  return {
    text: (prompt) => [...start, ...tokenizer.encode(prompt)],
    chat: (messages) =>
      tokenizer.chatTemplate === undefined ? [...start, ...tokenizer.encode(renderChatPrompt(messages))] : encodeChatWithTemplate(tokenizer, messages),
    ...(fim === undefined ? {} : { fillInTheMiddle: (prefix: string, suffix: string) => [...start, ...fim.encode(prefix, suffix)] }),
  };
}
