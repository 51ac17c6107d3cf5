import { expect } from 'vitest';
import { FileFormatError } from '@codestack/core';

/** Awaits `promise` and asserts it was refused with a {@link FileFormatError} of `code` whose message matches `pattern`. */
export async function expectRefused(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(FileFormatError.isInstance(caught), String(caught)).toBe(true);
  expect((caught as FileFormatError).code).toBe(code);
  expect((caught as Error).message).toMatch(pattern);
}
