import type { RetrievedDocument } from '@codestack/core';

/** The heading of the documents section of a prompt. */
export const documentsHeading = 'Reference documents:';

/**
 * How {@link renderDocuments} lays documents out:
 * - `blocks`: each document as an `[id]` line followed by its text, blocks separated by a blank line;
 * - `section`: the same blocks under the {@link documentsHeading} heading (chat prompts, the
 *   retrieval middleware);
 * - `line-comments`: every non-blank line as a `//` comment, ids left out (code-completion prompts
 *   for base code models, where every token counts).
 */
export type DocumentsLayout = 'blocks' | 'section' | 'line-comments';

/** Options of {@link renderDocuments}. */
export interface RenderDocumentsOptions {
  /** Default `blocks`. */
  layout?: DocumentsLayout;
}

/**
 * The one renderer of retrieved documents in prompts: the chat and completion templates, the
 * code-completion prompt and the retrieval middleware all call it. Documents come from a
 * `Retriever` (a `DocsIndex` gives each entry's `entryPromptText`) and are rendered as they are,
 * trimmed. Returns `''` for no documents.
 */
export function renderDocuments(documents: readonly Pick<RetrievedDocument, 'id' | 'text'>[], options: RenderDocumentsOptions = {}): string {
  const layout = options.layout ?? 'blocks';
  if (documents.length === 0) return '';
  if (layout === 'line-comments') {
    return documents
      .flatMap((document) => document.text.split('\n'))
      .map((line) => line.trim())
      .filter((line) => line !== '')
      .map((line) => `${line.startsWith('//') ? line : `// ${line}`}\n`)
      .join('');
  }
  const blocks = documents.map((document) => `[${document.id}]\n${document.text.trim()}`).join('\n\n');
  return layout === 'section' ? `${documentsHeading}\n\n${blocks}` : blocks;
}
