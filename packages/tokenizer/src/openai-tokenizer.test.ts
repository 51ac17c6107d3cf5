import { CodestackError, InvalidArgumentError } from '@codestack/core';
import { describe, expect, it } from 'vitest';
import { isEncodingLoaded } from './encoding-registry.js';
import { getModelInfo, listModelNames } from './model-registry.js';
import { countChatTokens, getTokenizer, loadTokenizer } from './openai-tokenizer.js';
import { UnknownEncodingError } from './unknown-encoding-error.js';
import { UnknownModelError } from './unknown-model-error.js';

describe('getTokenizer', () => {
  it('resolves encodings and models to the same encoding and round-trips text', () => {
    const byEncoding = getTokenizer('o200k_base');
    const byModel = getTokenizer('gpt-4o');
    expect(byModel.encodingName).toBe('o200k_base');
    expect(byModel.modelName).toBe('gpt-4o');
    expect(byModel.contextWindow).toBe(getModelInfo('gpt-4o').contextWindow);
    expect(byModel.contextWindow).toBeGreaterThan(0);
    const text = 'function greet(name: string) { return `hi ${name}`; } // 日本語 🙂';
    expect(byModel.encode(text)).toEqual(byEncoding.encode(text));
    expect(byEncoding.decode(byEncoding.encode(text))).toBe(text);
    expect(byEncoding.countTokens(text)).toBe(byEncoding.encode(text).length);
    expect(getTokenizer('gpt-4').encodingName).toBe('cl100k_base');
  });

  it('loads an encoding module only when first asked for', async () => {
    expect(isEncodingLoaded('p50k_edit')).toBe(false);
    const tokenizer = await loadTokenizer('p50k_edit');
    expect(isEncodingLoaded('p50k_edit')).toBe(true);
    expect(tokenizer.decode(tokenizer.encode('lazy loading'))).toBe('lazy loading');
  });

  it('serves every shipped encoding', async () => {
    for (const name of ['cl100k_base', 'o200k_base', 'o200k_harmony', 'p50k_base', 'p50k_edit', 'r50k_base', 'gpt2']) {
      const tokenizer = await loadTokenizer(name);
      expect(tokenizer.encodingName).toBe(name);
      expect(tokenizer.decode(tokenizer.encode('x = 42;\n'))).toBe('x = 42;\n');
    }
  });

  it('encodes special-token strings as plain text by default and as special tokens when allowed', () => {
    const tokenizer = getTokenizer('cl100k_base');
    const endOfText = tokenizer.specialTokens.get('<|endoftext|>');
    expect(endOfText).toBe(100257);
    const text = 'before <|endoftext|> after <|fim_prefix|>';
    const plain = tokenizer.encode(text);
    expect(plain).not.toContain(endOfText);
    expect(tokenizer.decode(plain)).toBe(text);
    expect(tokenizer.countTokens(text)).toBe(plain.length);
    const allowed = tokenizer.encode(text, { allowedSpecialTokens: 'all' });
    expect(allowed.filter((id) => id === endOfText)).toHaveLength(1);
    expect(allowed).toContain(tokenizer.specialTokens.get('<|fim_prefix|>'));
    expect(tokenizer.decode(allowed)).toBe(text);
    const onlyEndOfText = tokenizer.encode(text, { allowedSpecialTokens: ['<|endoftext|>'] });
    expect(onlyEndOfText).toContain(endOfText);
    expect(onlyEndOfText).not.toContain(tokenizer.specialTokens.get('<|fim_prefix|>'));
  });

  it('gives the bytes of each token, which join to the encoded text', () => {
    const tokenizer = getTokenizer('o200k_base');
    const text = 'naïve café 🙂 中文';
    const bytes = tokenizer.encode(text).flatMap((id) => [...tokenizer.tokenBytes(id)]);
    expect(Buffer.from(bytes).toString('utf8')).toBe(text);
  });

  it('decodes each call on its own, even after a call that ended inside a character', () => {
    // gpt-tokenizer's own decode shares one streaming TextDecoder, so this would yield '\uFFFDhello'.
    const tokenizer = getTokenizer('cl100k_base');
    const smile = tokenizer.encode('🙂');
    expect(smile.length).toBeGreaterThan(1);
    expect(tokenizer.decode(smile.slice(0, 1))).toBe('\uFFFD');
    expect(tokenizer.decode(tokenizer.encode('hello'))).toBe('hello');
  });

  it('refuses bad input with typed errors', () => {
    const tokenizer = getTokenizer('cl100k_base');
    expect(() => tokenizer.encode(42 as unknown as string)).toThrow(InvalidArgumentError);
    expect(() => tokenizer.countTokens(undefined as unknown as string)).toThrow(InvalidArgumentError);
    expect(() => tokenizer.decode([999_999_999])).toThrow(InvalidArgumentError);
    expect(() => getTokenizer('no-such-model')).toThrow(UnknownModelError);
    expect(() => getTokenizer('cl200k_base')).toThrow(UnknownEncodingError);
    expect(() => getTokenizer(7 as unknown as string)).toThrow(InvalidArgumentError);
    try {
      getTokenizer('no-such-model');
    } catch (error) {
      expect(CodestackError.isInstance(error)).toBe(true);
      expect((error as CodestackError).code).toBe('UNKNOWN_MODEL');
    }
    try {
      getTokenizer('cl200k_base');
    } catch (error) {
      expect((error as CodestackError).code).toBe('UNKNOWN_ENCODING');
    }
  });

  it('knows the models of gpt-tokenizer', () => {
    const names = listModelNames();
    expect(names).toContain('gpt-4o');
    expect(names).toContain('gpt-3.5-turbo');
    expect(getModelInfo('gpt-3.5-turbo').encodingName).toBe('cl100k_base');
  });
});

describe('countChatTokens', () => {
  const messages = [
    { role: 'system' as const, content: 'You are helpful.' },
    { role: 'user' as const, content: 'Count <|endoftext|> me.' },
  ];

  it('adds the chat framing of the model to the content tokens', () => {
    const tokenizer = getTokenizer('gpt-4o');
    const contentTokens = messages.reduce(
      (sum, message) => sum + tokenizer.countTokens(message.role) + tokenizer.countTokens(message.content),
      0,
    );
    const count = countChatTokens(messages, 'gpt-4o');
    // Each message takes <|im_start|>, <|im_sep|> and <|im_end|>, and the reply is primed with
    // <|im_start|>assistant<|im_sep|> (OpenAI's published counting rule: 3 per message + 3).
    expect(count).toBe(contentTokens + 3 * messages.length + 3);
    expect(tokenizer.countChatTokens(messages)).toBe(count);
  });

  it('refuses an unknown model and malformed messages', () => {
    expect(() => countChatTokens(messages, 'no-such-model')).toThrow(UnknownModelError);
    expect(() => countChatTokens([{ role: 'user', content: 5 as unknown as string }], 'gpt-4o')).toThrow(
      InvalidArgumentError,
    );
    expect(() => getTokenizer('o200k_base').countChatTokens(messages)).toThrow(InvalidArgumentError);
  });
});
