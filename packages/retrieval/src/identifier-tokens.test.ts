import { describe, expect, it } from 'vitest';
import { identifierTokens, splitIdentifier, stem } from './identifier-tokens.js';

describe('identifierTokens', () => {
  it('splits camelCase, snake_case and dotted names and keeps the whole identifier', () => {
    expect(splitIdentifier('readFileSync')).toEqual(['read', 'file', 'sync']);
    expect(splitIdentifier('HTTPServer')).toEqual(['http', 'server']);
    expect(splitIdentifier('max_old_space')).toEqual(['max', 'old', 'space']);
    expect(identifierTokens('path.readFileSync')).toEqual(['path', 'readfilesync', 'read', 'fil', 'sync', 'synchronous']);
  });

  it('adds the words common abbreviations stand for', () => {
    expect(identifierTokens('mkdir')).toEqual(['mkdir', 'mak', 'directory']);
    expect(identifierTokens('process.env')).toEqual(['process', 'env', 'environment', 'variabl']);
    expect(identifierTokens('constructor')).toEqual(['constructor']);
  });

  it('drops stop words and joins inflected forms', () => {
    expect(identifierTokens('Reading the files')).toEqual(['read', 'fil']);
    expect(stem('writing')).toBe(stem('write'));
    expect(stem('created')).toBe(stem('creates'));
    expect(stem('stopped')).toBe('stop');
    expect(stem('process')).toBe('process');
  });
});
