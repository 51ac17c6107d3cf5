import type { Tokenizer } from '@codestack/core';
import { chunkMarkdown } from '@codestack/tokenizer';
import type { DocEntry } from './doc-entry.js';

/** Options of {@link loadMarkdownDocs}. */
export interface LoadMarkdownDocsOptions {
  /** Where the Markdown came from, such as `README.md`; part of each entry's id. */
  source: string;
  /** The package the document belongs to. */
  packageName: string;
  /** That package's version. Defaults to `0.0.0`. */
  packageVersion?: string;
  /** The token budget of one section piece. Defaults to 400. */
  maximumTokens?: number;
  /** Counts the tokens, such as `getTokenizer('cl100k_base')`. */
  tokenizer: Tokenizer;
}

/**
 * Splits Markdown into one {@link DocEntry} per section piece (the tokenizer's `chunkMarkdown`),
 * named by its heading path (`Guide > Install`), kind `markdown`, with its first line.
 */
export function loadMarkdownDocs(markdown: string, options: LoadMarkdownDocsOptions): DocEntry[] {
  const chunks = chunkMarkdown(markdown, { maximumTokens: options.maximumTokens ?? 400, tokenizer: options.tokenizer });
  const entries: DocEntry[] = [];
  for (const chunk of chunks) {
    const text = chunk.text.trim();
    if (text === '') continue;
    const headingPath = chunk.headingPath ?? [];
    const body = text.replace(/^#{1,6}[^\n]*\n?/, '').trim();
    entries.push({
      id: `${options.packageName}:${options.source}#L${chunk.startLine}`,
      name: headingPath.length > 0 ? headingPath.join(' > ') : options.source,
      aliases: [],
      kind: 'markdown',
      signatures: [],
      summary: (body.split(/\n\s*\n/)[0] ?? '').replace(/\s+/g, ' ').slice(0, 300),
      documentation: text,
      parameters: [],
      examples: [],
      package: options.packageName,
      packageVersion: options.packageVersion ?? '0.0.0',
      sourceFile: options.source,
      line: chunk.startLine,
      headingPath,
    });
  }
  return entries;
}
