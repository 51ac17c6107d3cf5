import { InvalidArgumentError } from '@codestack/core';

/** The special token ids of a fill-in-the-middle prompt (as the model's tokenizer defines them). */
export interface FillInTheMiddleTokens {
  /** Marks the start of the prefix, e.g. `<|fim_prefix|>`. */
  prefixTokenId: number;
  /** Marks the start of the suffix, e.g. `<|fim_suffix|>`. */
  suffixTokenId: number;
  /** Marks where the middle begins, e.g. `<|fim_middle|>`; generation continues after it. */
  middleTokenId: number;
}

/**
 * Builds a fill-in-the-middle prompt in PSM order:
 * `<prefix> prefixIds <suffix> suffixIds <middle>`. Generate after it and stop on the model's
 * end-of-middle token to get the missing middle.
 */
export function buildFillInTheMiddlePrompt(prefixIds: readonly number[], suffixIds: readonly number[], tokens: FillInTheMiddleTokens): number[] {
  for (const [name, value] of Object.entries(tokens)) {
    if (!Number.isInteger(value) || value < 0) throw new InvalidArgumentError({ argument: `tokens.${name}`, message: `expected a token id, got ${String(value)}` });
  }
  return [tokens.prefixTokenId, ...prefixIds, tokens.suffixTokenId, ...suffixIds, tokens.middleTokenId];
}
