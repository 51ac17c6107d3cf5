import { describe, expect, it } from 'vitest';
import { AbortedError, throwIfAborted } from './aborted-error.js';
import { CodestackError } from './codestack-error.js';
import { FileFormatError } from './file-format-error.js';
import { InvalidArgumentError } from './invalid-argument-error.js';

describe('CodestackError', () => {
  it('carries a code, a message and a cause', () => {
    const cause = new Error('inner');
    const error = new CodestackError({ code: 'SOMETHING', message: 'went wrong', cause });
    expect(error.code).toBe('SOMETHING');
    expect(error.message).toBe('went wrong');
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(Error);
  });

  it('recognises errors from another copy of the package through the Symbol.for marker', () => {
    // An object built by a second copy of @codestack/core has a different class but the same marker.
    const foreign = Object.assign(new Error('from another copy'), {
      [Symbol.for('codestack.error')]: true,
      [Symbol.for('codestack.error.invalid-argument')]: true,
      code: 'INVALID_ARGUMENT',
    });
    expect(foreign instanceof CodestackError).toBe(false);
    expect(CodestackError.isInstance(foreign)).toBe(true);
    expect(InvalidArgumentError.isInstance(foreign)).toBe(true);
    expect(FileFormatError.isInstance(foreign)).toBe(false);
  });

  it('does not recognise plain errors and non-objects', () => {
    expect(CodestackError.isInstance(new Error('plain'))).toBe(false);
    expect(CodestackError.isInstance(null)).toBe(false);
    expect(CodestackError.isInstance('CodestackError')).toBe(false);
    expect(CodestackError.isInstance({ code: 'INVALID_ARGUMENT' })).toBe(false);
  });

  it('gives each subclass its own code and marker', () => {
    const invalid = new InvalidArgumentError({ argument: 'budget', message: 'must not be negative' });
    expect(invalid.code).toBe('INVALID_ARGUMENT');
    expect(invalid.argument).toBe('budget');
    expect(invalid.message).toContain('budget');
    expect(CodestackError.isInstance(invalid)).toBe(true);
    expect(InvalidArgumentError.isInstance(invalid)).toBe(true);
    expect(AbortedError.isInstance(invalid)).toBe(false);

    const corrupt = new FileFormatError({ path: '/x/model.safetensors', reason: 'corrupt', message: 'header is truncated' });
    expect(corrupt.code).toBe('CORRUPT_FILE');
    expect(corrupt.message).toContain('/x/model.safetensors');
    expect(new FileFormatError({ path: 'a', reason: 'mismatch', message: 'm' }).code).toBe('MISMATCHED_FILE');
    expect(new FileFormatError({ path: 'a', reason: 'missing', message: 'm' }).code).toBe('MISSING_FILE');
  });

  it('throwIfAborted throws only once the signal is aborted', () => {
    const controller = new AbortController();
    expect(() => throwIfAborted(controller.signal, 'training')).not.toThrow();
    expect(() => throwIfAborted(undefined, 'training')).not.toThrow();
    controller.abort(new Error('user pressed ctrl-c'));
    let caught: unknown;
    try {
      throwIfAborted(controller.signal, 'training');
    } catch (error) {
      caught = error;
    }
    expect(AbortedError.isInstance(caught)).toBe(true);
    expect((caught as AbortedError).code).toBe('ABORTED');
    expect((caught as AbortedError).message).toContain('training');
  });
});
