import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import { buildWindows } from './training-data.js';

describe('buildWindows', () => {
  it('cuts sequences into consecutive windows, padding and masking the last', () => {
    const windows = buildWindows({ sequences: [[1, 2, 3, 4, 5, 6, 7]] }, 4, 10);
    expect(windows).toHaveLength(2);
    expect([...(windows[0]?.inputs ?? [])]).toEqual([1, 2, 3, 4]);
    expect([...(windows[0]?.targets ?? [])]).toEqual([2, 3, 4, 5]);
    expect([...(windows[1]?.inputs ?? [])]).toEqual([5, 6, 0, 0]);
    expect([...(windows[1]?.targets ?? [])]).toEqual([6, 7, 0, 0]);
    expect([...(windows[1]?.mask ?? [])]).toEqual([1, 1, 0, 0]);
  });

  it('masks pairs to the completion', () => {
    const [window] = buildWindows({ pairs: [{ prompt: [1, 2, 3], completion: [8, 9] }] }, 6, 10);
    expect([...(window?.inputs ?? [])]).toEqual([1, 2, 3, 8, 0, 0]);
    expect([...(window?.targets ?? [])]).toEqual([2, 3, 8, 9, 0, 0]);
    expect([...(window?.mask ?? [])]).toEqual([0, 0, 1, 1, 0, 0]);
  });

  it('refuses ids out of range, malformed data and data with nothing to predict', () => {
    expect(() => buildWindows({ sequences: [[1, 10]] }, 4, 10)).toThrow(InvalidArgumentError);
    expect(() => buildWindows({ sequences: [[1, 2.5]] }, 4, 10)).toThrow(/outside/);
    expect(() => buildWindows({ pairs: [{ prompt: [], completion: [1] }] }, 4, 10)).toThrow(/non-empty/);
    expect(() => buildWindows({ sequences: [[3]] }, 4, 10)).toThrow(/no token to predict/);
    expect(() => buildWindows({ tokens: [1, 2] } as never, 4, 10)).toThrow(/sequences/);
    expect(() => buildWindows({ sequences: [[1, 2]] }, 0, 10)).toThrow(/sequenceLength/);
  });
});
