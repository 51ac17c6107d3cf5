import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import { getTokenizer } from '@codestack/tokenizer';
import { chunkEntries } from './chunk-entries.js';
import { sampleEntries } from './__fixtures__/sample-entries.js';
import { loadMarkdownDocs } from './markdown-loader.js';

const tokenizer = getTokenizer('cl100k_base');

describe('chunkEntries', () => {
  it('keeps short entries and splits long ones within the token budget', () => {
    const [short] = sampleEntries();
    const long = { ...short!, id: 'demo:long', documentation: Array.from({ length: 40 }, (_, part) => `Paragraph ${part} has several words in it.`).join('\n\n') };
    const pieces = chunkEntries([short!, long], { maximumTokens: 64, tokenizer });
    expect(pieces[0]).toBe(short);
    const longPieces = pieces.filter((piece) => piece.id.startsWith('demo:long'));
    expect(longPieces.length).toBeGreaterThan(3);
    expect(longPieces.map((piece) => piece.id).slice(0, 2)).toEqual(['demo:long', 'demo:long#2']);
    for (const piece of longPieces) {
      expect(piece.chunk?.count).toBe(longPieces.length);
      expect(tokenizer.countTokens(`${piece.name}\n${piece.signatures[0]}\n${piece.documentation}`)).toBeLessThanOrEqual(64);
    }
    expect(() => chunkEntries([short!], { maximumTokens: 4, tokenizer })).toThrow(InvalidArgumentError);
  });
});

describe('loadMarkdownDocs', () => {
  it('makes one entry per section with its heading path and line', () => {
    const markdown = '# Guide\n\nIntro text.\n\n## Install\n\nRun npm install.\n\n## Use\n\nCall the function.\n';
    const entries = loadMarkdownDocs(markdown, { source: 'README.md', packageName: 'demo', tokenizer });
    expect(entries.map((entry) => entry.name)).toEqual(['Guide', 'Guide > Install', 'Guide > Use']);
    expect(entries[1]).toMatchObject({ kind: 'markdown', line: 5, headingPath: ['Guide', 'Install'], summary: 'Run npm install.', id: 'demo:README.md#L5' });
  });
});
