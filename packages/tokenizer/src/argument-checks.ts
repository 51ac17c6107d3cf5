import { InvalidArgumentError } from '@codestack/core';

/** Throws {@link InvalidArgumentError} unless `value` is a string. */
export function assertString(value: unknown, argument: string): asserts value is string {
  if (typeof value !== 'string') {
    throw new InvalidArgumentError({ argument, message: `expected a string, got ${describe(value)}` });
  }
}

/** Throws {@link InvalidArgumentError} unless `value` is a whole number at least `minimum`. */
export function assertWholeNumber(value: unknown, argument: string, minimum = 0): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum) {
    throw new InvalidArgumentError({
      argument,
      message: `expected a whole number of at least ${minimum}, got ${describe(value)}`,
    });
  }
}

/** Throws {@link InvalidArgumentError} unless `value` is an array of whole non-negative numbers. */
export function assertTokenArray(value: unknown, argument: string): asserts value is readonly number[] {
  if (!Array.isArray(value)) {
    throw new InvalidArgumentError({ argument, message: `expected an array of token ids, got ${describe(value)}` });
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value;
}

/** Throws {@link InvalidArgumentError} unless `value` looks like a core `Tokenizer`. */
export function assertTokenizer(value: unknown, argument = 'tokenizer'): void {
  const candidate = value as { encode?: unknown; decode?: unknown; countTokens?: unknown } | null | undefined;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.encode !== 'function' ||
    typeof candidate.decode !== 'function' ||
    typeof candidate.countTokens !== 'function'
  ) {
    throw new InvalidArgumentError({ argument, message: 'expected a Tokenizer (encode, decode, countTokens)' });
  }
}
