import { assertString } from './argument-checks.js';

/** A token's text and id. */
export interface VocabularyToken {
  /** The token's text, such as `<|fim_prefix|>`. */
  readonly text: string;
  /** Its id. */
  readonly id: number;
}

/**
 * The fill-in-the-middle tokens a code model's vocabulary declares, and the prompt they make
 * (prefix–suffix–middle order: prefix marker, prefix, suffix marker, suffix, middle marker; the
 * model then writes the middle).
 */
export interface FillInTheMiddle {
  /** Marks the start of the code before the hole (`<|fim_prefix|>`, `<fim_prefix>`, `<｜fim▁begin｜>`). */
  readonly prefixToken: VocabularyToken;
  /** Marks the start of the code after the hole (`<|fim_suffix|>`, `<fim_suffix>`, `<｜fim▁hole｜>`). */
  readonly suffixToken: VocabularyToken;
  /** Asks for the middle (`<|fim_middle|>`, `<fim_middle>`, `<｜fim▁end｜>`). */
  readonly middleToken: VocabularyToken;
  /** The prompt as text, for engines that take text and parse the markers themselves. */
  render(prefix: string, suffix: string): string;
  /**
   * The prompt as token ids. The prefix and suffix are encoded as plain text: marker-looking text
   * inside them stays text and cannot open a second hole.
   */
  encode(prefix: string, suffix: string): number[];
}

/** The marker families of open code models, in the order they are looked for. */
const markerFamilies: readonly (readonly [prefix: string, suffix: string, middle: string])[] = [
  // Qwen2.5-Coder, CodeGemma, OpenAI-style vocabularies.
  ['<|fim_prefix|>', '<|fim_suffix|>', '<|fim_middle|>'],
  // StarCoder, StarCoder2, SmolLM, Granite Code.
  ['<fim_prefix>', '<fim_suffix>', '<fim_middle>'],
  // DeepSeek-Coder: begin, hole, end.
  ['<｜fim▁begin｜>', '<｜fim▁hole｜>', '<｜fim▁end｜>'],
];

/**
 * Finds the fill-in-the-middle markers a vocabulary declares (all three of one family), or
 * `undefined`. `tokenToId` looks a token's text up in the vocabulary; `encodePlainText` encodes
 * text without recognising any control token.
 */
export function findFillInTheMiddle(
  tokenToId: (text: string) => number | undefined,
  encodePlainText: (text: string) => number[],
): FillInTheMiddle | undefined {
  for (const family of markerFamilies) {
    const ids = family.map(tokenToId);
    if (ids.some((id) => id === undefined)) continue;
    const [prefixToken, suffixToken, middleToken] = family.map((text, index) => ({ text, id: ids[index] as number })) as [
      VocabularyToken,
      VocabularyToken,
      VocabularyToken,
    ];
    return {
      prefixToken,
      suffixToken,
      middleToken,
      render(prefix, suffix) {
        assertString(prefix, 'prefix');
        assertString(suffix, 'suffix');
        return `${prefixToken.text}${prefix}${suffixToken.text}${suffix}${middleToken.text}`;
      },
      encode(prefix, suffix) {
        assertString(prefix, 'prefix');
        assertString(suffix, 'suffix');
        return [prefixToken.id, ...encodePlainText(prefix), suffixToken.id, ...encodePlainText(suffix), middleToken.id];
      },
    };
  }
  return undefined;
}
