import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InvalidArgumentError } from '@codestack/core';
import { projectionNames } from '@codestack/runtime';
import { compileModuleNamePattern } from './module-name-pattern.js';

const names = [...projectionNames, 'model.layers.0.self_attn.q_proj', 'lm_head', '', 'q', 'proj'];

describe('compileModuleNamePattern', () => {
  it('full-matches like a RegExp on the supported subset', () => {
    const patterns = [
      'v_proj',
      '(q|v)_proj',
      '^(?:q|k|v)_proj$',
      '.*_proj',
      '[a-z]+_proj',
      '[^d][a-z]*_proj',
      '(gate|up|down)_proj',
      '\\w+\\.\\d+\\..*q_proj',
      '.*(q|v)_pro?j',
      'q{1}_proj',
      '[qkv]_proj|o_proj',
      '(a|b|c)*',
      '.{1,4}_proj',
      '(?:up|down)_p.{2,}',
      '.*?_proj',
    ];
    for (const pattern of patterns) {
      const reference = new RegExp(`^(?:${pattern.replace(/^\^/, '').replace(/\$$/, '')})$`);
      const matches = compileModuleNamePattern(pattern);
      for (const name of names) expect(matches(name), `${pattern} on ${name}`).toBe(reference.test(name));
    }
  });

  it('matches hostile nested patterns in linear time', () => {
    const started = performance.now();
    for (const pattern of ['(((([a-z_]*)*)*)*)*Z', '(a|a)*b', '(.*)*(.*)*(.*)*x', `${'.*'.repeat(100)}Z`]) {
      const matches = compileModuleNamePattern(pattern);
      for (const name of names) expect(matches(name)).toBe(false);
      expect(matches('a'.repeat(200))).toBe(false);
    }
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('refuses unsupported syntax and oversized patterns with InvalidArgumentError', () => {
    for (const pattern of ['(', 'a)', '[a-', '\\1', '(?=q)', '(?<name>q)', 'a{1,99}', 'a{2,1}', '*a', 'a^b', '\\b', 'x'.repeat(257), '(((a{16}){16}){16}){2}', 'a**', '((((([a-z_]*)*)*)*)*Z']) {
      let caught: unknown;
      try {
        compileModuleNamePattern(pattern);
      } catch (error) {
        caught = error;
      }
      expect(InvalidArgumentError.isInstance(caught), pattern).toBe(true);
    }
  });

  it('never throws an untyped error or hangs on random strings (fast-check)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'()[]{}|*+?.^$\\-,0123a_zqv:'.split('')), maxLength: 40 }), (pattern) => {
        try {
          const matches = compileModuleNamePattern(pattern);
          for (const name of names) matches(name);
        } catch (error) {
          expect(InvalidArgumentError.isInstance(error)).toBe(true);
        }
      }),
      { numRuns: 2_000, seed: 7 },
    );
  });
});
