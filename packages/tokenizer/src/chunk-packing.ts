import type { Tokenizer } from '@codestack/core';
import { assertString, assertTokenizer, assertWholeNumber } from './argument-checks.js';
import type { TextChunk } from './text-chunk.js';

/** A run of whole lines (or part of one line) of a source text. */
export interface SourcePiece {
  text: string;
  /** 1-based first line. */
  startLine: number;
  /** 1-based last line, inclusive. */
  endLine: number;
}

/** Splits text into lines, each keeping its line ending, so that joining them gives the text back. */
export function splitLinesKeepingEndings(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  while (start < text.length) {
    const newline = text.indexOf('\n', start);
    const end = newline === -1 ? text.length : newline + 1;
    lines.push(text.slice(start, end));
    start = end;
  }
  return lines;
}

/** Joins consecutive lines `[from, to)` (0-based) into one piece. */
export function linesToPiece(lines: readonly string[], from: number, to: number): SourcePiece {
  return { text: lines.slice(from, to).join(''), startLine: from + 1, endLine: to };
}

/** Whether a line holds only whitespace. */
export function isBlankLine(line: string): boolean {
  return /^\s*$/.test(line);
}

/** Checks the options every chunker shares. */
export function checkChunkOptions(source: unknown, options: { maximumTokens: unknown; tokenizer: unknown }): void {
  assertString(source, 'source');
  assertWholeNumber(options?.maximumTokens, 'maximumTokens', 1);
  assertTokenizer(options.tokenizer);
}

/** Splits a piece into smaller consecutive pieces (or returns it whole when it cannot). */
export type PieceSplitter = (piece: SourcePiece) => SourcePiece[];

/**
 * Packs consecutive pieces into chunks of at most `maximumTokens` tokens. A piece that alone is
 * too large is refined by each splitter in turn (by default: at blank lines, then into lines), and
 * a single line that is still too large is cut by tokens.
 */
export function packPieces(
  pieces: readonly SourcePiece[],
  maximumTokens: number,
  tokenizer: Tokenizer,
  splitters: readonly PieceSplitter[] = [splitAtBlankLines, splitIntoLines],
): TextChunk[] {
  return packAtLevel(pieces, maximumTokens, tokenizer, splitters, 0);
}

function packAtLevel(
  pieces: readonly SourcePiece[],
  maximumTokens: number,
  tokenizer: Tokenizer,
  refineLevels: readonly PieceSplitter[],
  level: number,
): TextChunk[] {
  const chunks: TextChunk[] = [];
  let group: SourcePiece[] = [];
  let groupTokens = 0;
  const flush = (): void => {
    if (group.length > 0) chunks.push(...verifyGroup(group, maximumTokens, tokenizer));
    group = [];
    groupTokens = 0;
  };
  for (const piece of pieces) {
    const tokens = tokenizer.countTokens(piece.text);
    if (tokens > maximumTokens) {
      flush();
      const refine = refineLevels[level];
      const finer = refine?.(piece);
      if (refine !== undefined && finer !== undefined && finer.length > 1) {
        chunks.push(...packAtLevel(finer, maximumTokens, tokenizer, refineLevels, level + 1));
      } else if (level < refineLevels.length) {
        chunks.push(...packAtLevel([piece], maximumTokens, tokenizer, refineLevels, level + 1));
      } else {
        chunks.push(...splitByTokens(piece, maximumTokens, tokenizer));
      }
      continue;
    }
    if (group.length > 0 && groupTokens + tokens <= maximumTokens) {
      group.push(piece);
      groupTokens += tokens;
    } else {
      flush();
      group = [piece];
      groupTokens = tokens;
    }
  }
  flush();
  return chunks;
}

// Packing adds up the pieces' own counts; BPE across a junction can differ, so check the joined text.
function verifyGroup(group: readonly SourcePiece[], maximumTokens: number, tokenizer: Tokenizer): TextChunk[] {
  const joined = joinPieces(group);
  if (group.length === 1 || tokenizer.countTokens(joined.text) <= maximumTokens) return [joined];
  const chunks: TextChunk[] = [];
  let start = 0;
  for (let end = 1; end <= group.length; end++) {
    const candidate = joinPieces(group.slice(start, end + 1));
    if (end === group.length || tokenizer.countTokens(candidate.text) > maximumTokens) {
      chunks.push(joinPieces(group.slice(start, end)));
      start = end;
    }
  }
  return chunks;
}

function joinPieces(pieces: readonly SourcePiece[]): TextChunk {
  const first = pieces[0] as SourcePiece;
  const last = pieces[pieces.length - 1] as SourcePiece;
  return { text: pieces.map((piece) => piece.text).join(''), startLine: first.startLine, endLine: last.endLine };
}

/** Splits a piece into paragraphs: runs of lines that each end with their trailing blank lines. */
export function splitAtBlankLines(piece: SourcePiece): SourcePiece[] {
  const lines = splitLinesKeepingEndings(piece.text);
  const pieces: SourcePiece[] = [];
  let from = 0;
  for (let index = 1; index < lines.length; index++) {
    if (isBlankLine(lines[index - 1] as string) && !isBlankLine(lines[index] as string)) {
      pieces.push(offsetPiece(linesToPiece(lines, from, index), piece.startLine));
      from = index;
    }
  }
  pieces.push(offsetPiece(linesToPiece(lines, from, lines.length), piece.startLine));
  return pieces;
}

/** Splits a piece into its lines. */
export function splitIntoLines(piece: SourcePiece): SourcePiece[] {
  return splitLinesKeepingEndings(piece.text).map((line, index) => ({
    text: line,
    startLine: piece.startLine + index,
    endLine: piece.startLine + index,
  }));
}

function offsetPiece(piece: SourcePiece, firstLine: number): SourcePiece {
  return { text: piece.text, startLine: piece.startLine + firstLine - 1, endLine: piece.endLine + firstLine - 1 };
}

/**
 * Splits one over-long line into parts of at most `maximumTokens` tokens, each the longest prefix
 * that fits (found by binary search over code-point boundaries, so no character is cut).
 * A single character that alone needs more tokens than allowed becomes a part of its own.
 */
function splitByTokens(piece: SourcePiece, maximumTokens: number, tokenizer: Tokenizer): TextChunk[] {
  const chunks: TextChunk[] = [];
  let rest = piece.text;
  while (rest.length > 0) {
    let high = Math.min(rest.length, maximumTokens * 16);
    while (high < rest.length && tokenizer.countTokens(rest.slice(0, high)) <= maximumTokens) {
      high = Math.min(rest.length, high * 2);
    }
    let low = 0;
    if (tokenizer.countTokens(rest.slice(0, high)) <= maximumTokens) low = high;
    else {
      // Invariant: prefix of length `low` fits, prefix of length `high` does not.
      while (high - low > 1) {
        const middle = (low + high) >>> 1;
        if (tokenizer.countTokens(rest.slice(0, middle)) <= maximumTokens) low = middle;
        else high = middle;
      }
    }
    let cut = low;
    if (cut > 0 && cut < rest.length && isHighSurrogate(rest.charCodeAt(cut - 1))) cut -= 1;
    if (cut === 0) cut = isHighSurrogate(rest.charCodeAt(0)) && rest.length > 1 ? 2 : 1;
    chunks.push({ text: rest.slice(0, cut), startLine: piece.startLine, endLine: piece.endLine });
    rest = rest.slice(cut);
  }
  return chunks;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
