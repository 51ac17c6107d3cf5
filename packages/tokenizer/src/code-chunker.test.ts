import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { InvalidArgumentError } from '@codestack/core';
import { describe, expect, it } from 'vitest';
import { chunkCode } from './code-chunker.js';
import type { TextChunk } from './text-chunk.js';
import { getTokenizer } from './openai-tokenizer.js';

const tokenizer = getTokenizer('cl100k_base');
const require = createRequire(import.meta.url);

function expectWellFormed(source: string, chunks: readonly TextChunk[], maximumTokens: number): void {
  expect(chunks.map((chunk) => chunk.text).join('')).toBe(source);
  const lines = source.split('\n');
  let previousEnd = 0;
  for (const chunk of chunks) {
    expect(tokenizer.countTokens(chunk.text)).toBeLessThanOrEqual(maximumTokens);
    expect(chunk.startLine).toBeGreaterThanOrEqual(previousEnd);
    expect(chunk.startLine).toBeLessThanOrEqual(previousEnd + 1);
    expect(chunk.endLine).toBeGreaterThanOrEqual(chunk.startLine);
    // The chunk's text lies within its line range.
    expect(lines.slice(chunk.startLine - 1, chunk.endLine).join('\n')).toContain(chunk.text.replace(/\n$/, ''));
    previousEnd = chunk.endLine;
  }
  expect(previousEnd).toBe(source.endsWith('\n') ? lines.length - 1 : lines.length);
}

describe('chunkCode', () => {
  it('cuts real TypeScript declarations into chunks within the limit that join back to the source', () => {
    const source = readFileSync(require.resolve('typescript/lib/lib.es5.d.ts'), 'utf8');
    const chunks = chunkCode(source, { maximumTokens: 256, tokenizer });
    expectWellFormed(source, chunks, 256);
    // A chunk starts inside a declaration (at an indented line) only when that whole declaration,
    // from its `interface`/`declare` line to its closing `}` line, is over the limit.
    const lines = source.split('\n');
    let cutsInside = 0;
    for (const chunk of chunks) {
      const first = lines[chunk.startLine - 1] as string;
      if (!/^\s+\S/.test(first) || !chunk.text.startsWith(first)) continue;
      let start = chunk.startLine - 1;
      while (start > 0 && !/^(interface|declare|type|function)\b/.test(lines[start] as string)) start--;
      let end = chunk.startLine - 1;
      while (end < lines.length - 1 && lines[end] !== '}') end++;
      const declaration = lines.slice(start, end + 1).join('\n');
      expect(tokenizer.countTokens(declaration)).toBeGreaterThan(256);
      cutsInside++;
    }
    expect(cutsInside).toBeGreaterThan(0);
    expect(cutsInside).toBeLessThan(chunks.length);
    // Inside a large declaration the cuts fall between members, so no chunk starts inside a doc comment.
    expect(chunks.filter((chunk) => /^\s+\*/.test(chunk.text))).toEqual([]);
  });

  it('keeps each top-level declaration whole with its doc comment when it fits', () => {
    const source = [
      "import { readFile } from 'node:fs/promises';",
      '',
      '/** Adds two numbers. */',
      'export function add(left: number, right: number): number {',
      '  return left + right;',
      '}',
      '',
      '@sealed',
      'class Box {',
      '  value = 1;',
      '}',
      'export interface Point {',
      '  x: number;',
      '  y: number;',
      '}',
      '',
    ].join('\n');
    const chunks = chunkCode(source, { maximumTokens: 30, tokenizer });
    expectWellFormed(source, chunks, 30);
    const starts = chunks.map((chunk) => chunk.startLine);
    expect(starts).toContain(3);
    expect(starts).toContain(8);
    // Chunks start only at declarations (or their doc comment/decorator), never inside one.
    for (const start of starts) expect([1, 3, 8, 12]).toContain(start);
  });

  it('ignores braces and declarations inside strings, template literals, comments and regular expressions', () => {
    const source = [
      'const template = `',
      '}',
      'function fakeInTemplate() {',
      '${[1, 2].map((n) => `${n}}`).join("}")}',
      '`;',
      "const regex = /[}{]+\\/}/g; const text = '}{';",
      '/*',
      'function fakeInComment() {}',
      '*/',
      'function real() { return "}"; }',
      '',
    ].join('\n');
    const chunks = chunkCode(source, { maximumTokens: 30, tokenizer });
    expectWellFormed(source, chunks, 30);
    const starts = chunks.map((chunk) => chunk.startLine);
    expect(starts).not.toContain(3);
    expect(starts).not.toContain(8);
  });

  it('falls back to blank lines, then lines, then tokens for an over-long declaration', () => {
    const body = Array.from({ length: 40 }, (_, index) => `  const value${index} = compute(${index});`).join('\n');
    const longLine = `const data = [${Array.from({ length: 300 }, (_, index) => index * 7919).join(', ')}];`;
    const source = `function big() {\n${body}\n\n${body}\n}\n${longLine}\n`;
    const chunks = chunkCode(source, { maximumTokens: 60, language: 'javascript', tokenizer });
    expectWellFormed(source, chunks, 60);
    const longLineNumber = source.split('\n').indexOf(longLine) + 1;
    const longLineChunks = chunks.filter((chunk) => chunk.startLine === longLineNumber);
    expect(longLineChunks.length).toBeGreaterThan(1);
    for (const chunk of longLineChunks) expect(chunk.endLine).toBe(longLineNumber);
  });

  it('returns no chunks for empty source', () => {
    expect(chunkCode('', { maximumTokens: 10, tokenizer })).toEqual([]);
  });

  it('refuses a maximum below one token and non-string source', () => {
    expect(() => chunkCode('let a;', { maximumTokens: 0, tokenizer })).toThrow(InvalidArgumentError);
    expect(() => chunkCode('let a;', { maximumTokens: -5, tokenizer })).toThrow(InvalidArgumentError);
    expect(() => chunkCode(null as unknown as string, { maximumTokens: 5, tokenizer })).toThrow(InvalidArgumentError);
    expect(() => chunkCode('let a;', { maximumTokens: 5, tokenizer: undefined as never })).toThrow(InvalidArgumentError);
  });
});
