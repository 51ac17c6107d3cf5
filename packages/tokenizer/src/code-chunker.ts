import type { Tokenizer } from '@codestack/core';
import { checkChunkOptions, isBlankLine, linesToPiece, packPieces, splitLinesKeepingEndings } from './chunk-packing.js';
import type { TextChunk } from './text-chunk.js';
import { findTopLevelLines } from './top-level-scanner.js';

/** Options of {@link chunkCode}. */
export interface ChunkCodeOptions {
  /** The most tokens one chunk may have (at least 1). */
  maximumTokens: number;
  /** Counts the tokens. */
  tokenizer: Tokenizer;
  /** The source language. Both are scanned alike; the option documents intent. Default `typescript`. */
  language?: 'typescript' | 'javascript';
}

/**
 * Splits TypeScript or JavaScript source into chunks of at most `maximumTokens` tokens, along
 * top-level declarations (functions, classes, interfaces, exports, statements; leading comments and
 * decorators stay with what they describe). Consecutive small declarations share a chunk. A
 * declaration that is too large is split at blank lines, then at lines, and a single over-long line
 * by tokens. The chunks' texts joined give back the source exactly; each carries its line range.
 *
 * Uses a light scanner (braces, strings, template literals, comments, regular expressions), not a
 * parser, so it needs no TypeScript compiler at run time.
 */
export function chunkCode(source: string, options: ChunkCodeOptions): TextChunk[] {
  checkChunkOptions(source, options);
  const lines = splitLinesKeepingEndings(source);
  const topLevel = findTopLevelLines(source);
  const pieces = [];
  let from = 0;
  for (let index = 1; index < lines.length; index++) {
    if (startsDeclaration(lines, topLevel, index)) {
      pieces.push(linesToPiece(lines, from, index));
      from = index;
    }
  }
  if (lines.length > 0) pieces.push(linesToPiece(lines, from, lines.length));
  return packPieces(pieces, options.maximumTokens, options.tokenizer);
}

function startsDeclaration(lines: readonly string[], topLevel: readonly boolean[], index: number): boolean {
  const line = lines[index] as string;
  if (topLevel[index] !== true || isBlankLine(line)) return false;
  // Indented lines and lines that continue an expression are not new top-level statements.
  if (/^[\s.,)\]}?:+\-*&|=<>^%]/.test(line)) return false;
  const previous = lines[index - 1] as string;
  // A comment or decorator just above belongs to this declaration, so the cut is above it.
  return !attachesToNextLine(previous);
}

function attachesToNextLine(line: string): boolean {
  const trimmed = line.trim();
  return trimmed.startsWith('//') || trimmed.endsWith('*/') || trimmed.startsWith('@') || trimmed.startsWith('/*');
}
