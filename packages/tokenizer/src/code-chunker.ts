import type { Tokenizer } from '@codestack/core';
import {
  checkChunkOptions,
  isBlankLine,
  linesToPiece,
  packPieces,
  type SourcePiece,
  splitAtBlankLines,
  splitIntoLines,
  splitLinesKeepingEndings,
} from './chunk-packing.js';
import type { TextChunk } from './text-chunk.js';
import { findLineDepths } from './top-level-scanner.js';

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
 * declaration that is too large is split between its members (or its body's statements), then at
 * blank lines, then at lines, and a single over-long line by tokens. The chunks' texts joined give back the source exactly; each carries its line range.
 *
 * Uses a light scanner (braces, strings, template literals, comments, regular expressions), not a
 * parser, so it needs no TypeScript compiler at run time.
 */
export function chunkCode(source: string, options: ChunkCodeOptions): TextChunk[] {
  checkChunkOptions(source, options);
  const lines = splitLinesKeepingEndings(source);
  const depths = findLineDepths(source);
  const pieces = [];
  let from = 0;
  for (let index = 1; index < lines.length; index++) {
    if (startsStatement(lines, depths, index, 0)) {
      pieces.push(linesToPiece(lines, from, index));
      from = index;
    }
  }
  if (lines.length > 0) pieces.push(linesToPiece(lines, from, lines.length));
  // A declaration too large for one chunk is cut between its members (or its body's statements)
  // first, then at blank lines, then into lines.
  const splitAtMembers = (piece: SourcePiece): SourcePiece[] => {
    const first = piece.startLine - 1;
    const parts: SourcePiece[] = [];
    let start = first;
    for (let index = first + 1; index < piece.endLine; index++) {
      if (startsStatement(lines, depths, index, 1)) {
        parts.push(linesToPiece(lines, start, index));
        start = index;
      }
    }
    parts.push(linesToPiece(lines, start, piece.endLine));
    return parts;
  };
  return packPieces(pieces, options.maximumTokens, options.tokenizer, [splitAtMembers, splitAtBlankLines, splitIntoLines]);
}

/**
 * Whether line `index` starts a statement or member at bracket depth `depth`: outside comments and
 * strings, not blank, not continuing an expression, and not just below a comment or decorator
 * (those belong to it, so the cut goes above them). At the top level it must also not be indented.
 */
function startsStatement(lines: readonly string[], depths: readonly number[], index: number, depth: number): boolean {
  const line = lines[index] as string;
  if (depths[index] !== depth || isBlankLine(line)) return false;
  const continuation = depth === 0 ? /^[\s.,)\]}?:+\-*&|=<>^%]/ : /^\s*[.,)\]}?:+\-*&|=<>^%]/;
  if (continuation.test(line)) return false;
  const previous = lines[index - 1] as string;
  // A comment or decorator just above belongs to this declaration, so the cut is above it.
  return !attachesToNextLine(previous);
}

function attachesToNextLine(line: string): boolean {
  const trimmed = line.trim();
  return trimmed.startsWith('//') || trimmed.endsWith('*/') || trimmed.startsWith('@') || trimmed.startsWith('/*');
}
