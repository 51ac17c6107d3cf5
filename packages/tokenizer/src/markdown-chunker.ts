import type { Tokenizer } from '@codestack/core';
import { checkChunkOptions, isBlankLine, linesToPiece, packPieces, splitLinesKeepingEndings } from './chunk-packing.js';
import type { TextChunk } from './text-chunk.js';

/** Options of {@link chunkMarkdown}. */
export interface ChunkMarkdownOptions {
  /** The most tokens one chunk may have (at least 1). */
  maximumTokens: number;
  /** Counts the tokens. */
  tokenizer: Tokenizer;
}

/**
 * Splits Markdown into chunks of at most `maximumTokens` tokens, one section (an ATX heading `#`…
 * `######` and the lines up to the next heading) at a time; `#` lines inside fenced code blocks are
 * not headings. Each chunk carries its line range and `headingPath`, the titles of the headings it
 * sits under (outermost first; empty before the first heading). A section that is too large is
 * split at blank lines, then lines, then a single line by tokens. Joined, the chunks give back the
 * source exactly (blank lines before the first heading join the first section).
 */
export function chunkMarkdown(markdown: string, options: ChunkMarkdownOptions): TextChunk[] {
  checkChunkOptions(markdown, options);
  const lines = splitLinesKeepingEndings(markdown);
  const sections: { from: number; to: number; headingPath: string[] }[] = [];
  const headings: { level: number; title: string }[] = [];
  let fence: string | undefined;
  let from = 0;
  let path: string[] = [];
  lines.forEach((line, index) => {
    const fenceMatch = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fenceMatch !== null) {
      const marker = fenceMatch[1] as string;
      if (fence === undefined) fence = marker;
      else if (marker[0] === fence[0] && marker.length >= fence.length && isBlankLine(line.slice(line.indexOf(marker) + marker.length))) {
        fence = undefined;
      }
      return;
    }
    if (fence !== undefined) return;
    const heading = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*\r?\n?$/.exec(line);
    if (heading === null) return;
    const level = (heading[1] as string).length;
    const title = (heading[2] ?? '').trim();
    if (index > from) {
      const onlyBlank = lines.slice(from, index).every(isBlankLine);
      if (!(sections.length === 0 && onlyBlank)) {
        sections.push({ from, to: index, headingPath: path });
        from = index;
      }
    }
    while (headings.length > 0 && (headings[headings.length - 1] as { level: number }).level >= level) headings.pop();
    headings.push({ level, title });
    path = headings.map((entry) => entry.title);
  });
  if (lines.length > from) sections.push({ from, to: lines.length, headingPath: path });
  const chunks: TextChunk[] = [];
  for (const section of sections) {
    const piece = linesToPiece(lines, section.from, section.to);
    for (const chunk of packPieces([piece], options.maximumTokens, options.tokenizer)) {
      chunks.push({ ...chunk, headingPath: [...section.headingPath] });
    }
  }
  return chunks;
}
