import type { Tokenizer } from '@codestack/core';
import { InvalidArgumentError } from '@codestack/core';
import { chunkMarkdown } from '@codestack/tokenizer';
import type { DocEntry } from './doc-entry.js';

/** Options of {@link chunkEntries}. */
export interface ChunkEntriesOptions {
  /** The token budget of one piece: name, first signature and documentation together. */
  maximumTokens: number;
  /** Counts the tokens, such as `getTokenizer('cl100k_base')` from `@codestack/tokenizer`. */
  tokenizer: Tokenizer;
}

/**
 * Splits entries whose text exceeds `maximumTokens` into pieces. The documentation is split by
 * the tokenizer's `chunkMarkdown` (by headings, then paragraphs, then lines); every piece keeps
 * the entry's name, kind and signatures so it is found and shown as the same API. The first
 * piece keeps the entry's id, later ones get `#2`, `#3`, ... and a `chunk` position.
 */
export function chunkEntries(entries: readonly DocEntry[], options: ChunkEntriesOptions): DocEntry[] {
  if (!Number.isInteger(options.maximumTokens) || options.maximumTokens < 32) {
    throw new InvalidArgumentError({ argument: 'maximumTokens', message: `must be an integer of at least 32, got ${options.maximumTokens}` });
  }
  const result: DocEntry[] = [];
  for (const entry of entries) {
    const header = `${entry.name}\n${(entry.signatures[0] ?? '').slice(0, 240)}\n`;
    const fullText = header + entry.documentation;
    if (fullText.length <= options.maximumTokens || options.tokenizer.countTokens(fullText) <= options.maximumTokens) {
      result.push(entry);
      continue;
    }
    const budget = Math.max(16, options.maximumTokens - options.tokenizer.countTokens(header));
    const pieces = chunkMarkdown(entry.documentation, { maximumTokens: budget, tokenizer: options.tokenizer }).filter(
      (piece) => piece.text.trim() !== '',
    );
    if (pieces.length <= 1) {
      result.push(entry);
      continue;
    }
    pieces.forEach((piece, index) => {
      result.push({
        ...entry,
        id: index === 0 ? entry.id : `${entry.id}#${index + 1}`,
        documentation: piece.text.trim(),
        examples: index === 0 ? entry.examples : [],
        parameters: index === 0 ? entry.parameters : [],
        line: entry.line,
        chunk: { index: index + 1, count: pieces.length },
      });
    });
  }
  return result;
}
