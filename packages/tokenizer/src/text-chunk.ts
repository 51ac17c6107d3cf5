/** A piece of a document, as {@link chunkMarkdown} and {@link chunkCode} return it. */
export interface TextChunk {
  /** The chunk's text, exactly as in the source (line endings included). */
  text: string;
  /** The first line of the chunk, 1-based. */
  startLine: number;
  /** The last line of the chunk, 1-based and inclusive. */
  endLine: number;
  /** For Markdown: the titles of the headings the chunk sits under, outermost first. */
  headingPath?: string[];
}
