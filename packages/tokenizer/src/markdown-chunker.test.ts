import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { InvalidArgumentError } from '@codestack/core';
import { describe, expect, it } from 'vitest';
import { chunkMarkdown } from './markdown-chunker.js';
import { getTokenizer } from './openai-tokenizer.js';

const tokenizer = getTokenizer('o200k_base');
const require = createRequire(import.meta.url);

describe('chunkMarkdown', () => {
  it('splits a real README by headings within the limit and joins back to the source', () => {
    const markdown = readFileSync(require.resolve('gpt-tokenizer/package.json').replace('package.json', 'README.md'), 'utf8');
    const chunks = chunkMarkdown(markdown, { maximumTokens: 200, tokenizer });
    expect(chunks.map((chunk) => chunk.text).join('')).toBe(markdown);
    const lines = markdown.split('\n');
    for (const chunk of chunks) {
      expect(tokenizer.countTokens(chunk.text)).toBeLessThanOrEqual(200);
      expect(chunk.headingPath).toBeDefined();
      const firstLine = lines[chunk.startLine - 1] as string;
      const heading = /^#{1,6}\s+(.*?)\s*$/.exec(firstLine);
      // A chunk that starts at a heading has that heading last in its path.
      if (heading !== null && chunk.text.startsWith(firstLine)) expect(chunk.headingPath?.at(-1)).toBe(heading[1]);
    }
  });

  it('keeps the heading path and ignores # lines inside fenced code', () => {
    const markdown = [
      'Intro text.',
      '# Guide',
      'Welcome.',
      '## Install',
      '```sh',
      '# not a heading',
      'npm install codestack',
      '```',
      '### From source ###',
      'Clone it.',
      '## Use',
      'Call it.',
      '',
    ].join('\n');
    const chunks = chunkMarkdown(markdown, { maximumTokens: 100, tokenizer });
    expect(chunks.map((chunk) => [chunk.startLine, chunk.endLine, chunk.headingPath])).toEqual([
      [1, 1, []],
      [2, 3, ['Guide']],
      [4, 8, ['Guide', 'Install']],
      [9, 10, ['Guide', 'Install', 'From source']],
      [11, 12, ['Guide', 'Use']],
    ]);
  });

  it('splits an over-long section into paragraphs under the same heading path', () => {
    const paragraph = 'Tokens are counted per chunk so that every chunk fits the embedder. '.repeat(6);
    const markdown = `# Long\n\n${paragraph}\n\n${paragraph}\n\n${paragraph}\n`;
    const chunks = chunkMarkdown(markdown, { maximumTokens: 90, tokenizer });
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) {
      expect(chunk.headingPath).toEqual(['Long']);
      expect(tokenizer.countTokens(chunk.text)).toBeLessThanOrEqual(90);
    }
    expect(chunks.map((chunk) => chunk.text).join('')).toBe(markdown);
  });

  it('refuses bad options', () => {
    expect(() => chunkMarkdown('# a', { maximumTokens: 1.5, tokenizer })).toThrow(InvalidArgumentError);
    expect(() => chunkMarkdown(3 as unknown as string, { maximumTokens: 10, tokenizer })).toThrow(InvalidArgumentError);
  });
});
