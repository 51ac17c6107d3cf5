import type { IncrementalDecoder, Tokenizer } from './spec/tokenizer.js';

const replacementCharacter = 0xfffd;

/**
 * The tokenizer's own {@link IncrementalDecoder} when it has one (`createDecoder`), otherwise a
 * generic one built from `decode`.
 *
 * The generic decoder keeps a window: the ids of the last emitted piece (context, so that
 * tokenizers whose `decode` treats the first token specially, such as SentencePiece's leading
 * space, still decode correctly) and the ids not yet emitted. Each push decodes only that window
 * (`decode(context + pending)` minus `decode(context)`, the offsets text-generation-inference uses)
 * and holds the new text back while it ends in U+FFFD (a character split across tokens). The work
 * per push is proportional to the window, not to everything decoded so far.
 */
export function createIncrementalDecoder(tokenizer: Tokenizer): IncrementalDecoder {
  if (typeof tokenizer.createDecoder === 'function') return tokenizer.createDecoder();
  let context: number[] = [];
  let pending: number[] = [];
  const pendingText = (): string => {
    const prefix = context.length === 0 ? '' : tokenizer.decode(context);
    const whole = tokenizer.decode([...context, ...pending]);
    // A decode that is not a prefix extension (rare: normalising decoders) falls back to the tail.
    return whole.startsWith(prefix) ? whole.slice(prefix.length) : whole.slice(Math.min(prefix.length, whole.length));
  };
  return {
    push(tokens) {
      if (tokens.length === 0) return '';
      pending.push(...tokens);
      const text = pendingText();
      if (text.length === 0 || text.charCodeAt(text.length - 1) === replacementCharacter) return '';
      context = pending;
      pending = [];
      return text;
    },
    flush() {
      const text = pending.length === 0 ? '' : pendingText();
      context = [];
      pending = [];
      return text;
    },
  };
}
