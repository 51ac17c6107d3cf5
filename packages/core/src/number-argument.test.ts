import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './invalid-argument-error.js';
import { numberArgument } from './number-argument.js';

describe('numberArgument', () => {
  it('parses numbers, passes an absent option through, and refuses text that is not a finite number by name', () => {
    expect(numberArgument('0.75', '--knn-lambda')).toBe(0.75);
    expect(numberArgument('8000', '--steps')).toBe(8000);
    expect(numberArgument(undefined, '--steps')).toBeUndefined();
    for (const text of ['', ' ', '8k', 'NaN', 'Infinity', 'two']) {
      expect(() => numberArgument(text, '--steps')).toThrow(InvalidArgumentError);
    }
    expect(() => numberArgument('8k', '--steps')).toThrow("Invalid argument '--steps': must be a number, got '8k'");
    expect(numberArgument('0', '--temperature', { minimum: 0 })).toBe(0);
    expect(() => numberArgument('-0.5', '--temperature', { minimum: 0 })).toThrow("Invalid argument '--temperature': must be a number of at least 0, got '-0.5'");
    expect(() => numberArgument('warm', '--temperature', { minimum: 0 })).toThrow("Invalid argument '--temperature': must be a number of at least 0, got 'warm'");
  });
});
