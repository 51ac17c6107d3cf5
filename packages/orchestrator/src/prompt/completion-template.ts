import type { RetrievedDocument, Retriever, Tokenizer } from '@codestack/core';
import { fitBudget } from '@codestack/tokenizer';
import type { PromptParts } from './prompt-parts.js';
import { renderDocuments } from './render-documents.js';

/**
 * A completion prompt for base code models: documents and the instruction as a leading comment,
 * then the context (code to continue).
 */
export function buildCompletionPrompt(parts: PromptParts): string {
  const documents = parts.documents?.length ? renderDocuments(parts.documents, { layout: 'section' }).split('\n') : [];
  const comment = [...documents, ...(documents.length ? [''] : []), parts.instruction]
    .map((line) => (line ? ` * ${line.replaceAll('*/', '* /')}` : ' *'))
    .join('\n');
  return `/**\n${comment}\n */\n${parts.context ?? ''}`;
}

/** The end of `text` within `budget` tokens: whole lines when one fits, else the token tail of the last line. */
function endWithin(text: string, budget: number, tokenizer: Tokenizer): string {
  if (budget <= 0) return '';
  for (const kind of ['code', 'text'] as const) {
    const fit = fitBudget({ budget, tokenizer, sections: [{ id: 'prefix', text, priority: 1, keep: 'end', kind }] });
    const kept = fit.sections[0]?.text ?? '';
    if (kept !== '') return kept;
  }
  return '';
}

/** The query for a case: the last few non-blank lines before the cursor. */
function queryFor(prefix: string): string {
  return prefix
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .slice(-3)
    .join('\n');
}

/**
 * Retrieved docs within `budget` tokens as rendered by `renderDocuments` (`line-comments`): up to
 * two lines of each document, in order. A line that does not fit is cut to its first sentence, or
 * else skipped, so long overloaded signatures do not shut out the documentation line after them.
 * Lines that are comments already (the `//` header `DocsIndex` puts on each entry, naming its
 * source) are left out: in a completion prompt the tokens go to signatures and documentation.
 */
async function documentBlock(retriever: Retriever, prefix: string, k: number, budget: number, tokenizer: Tokenizer, signal: AbortSignal | undefined): Promise<string> {
  const query = queryFor(prefix);
  if (!query.trim() || budget <= 0) return '';
  const documents = await retriever.retrieve(query, { topK: k, ...(signal ? { signal } : {}) });
  const kept: Pick<RetrievedDocument, 'id' | 'text'>[] = [];
  let block = '';
  for (const document of documents) {
    const lines = document.text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('//'));
    const chosen: string[] = [];
    for (const line of lines) {
      if (chosen.length === 2) break;
      const sentence = /^.*?[.!?](?=\s|$)/.exec(line)?.[0];
      for (const candidate of sentence === undefined ? [line] : [line, sentence]) {
        const rendered = renderDocuments([...kept, { id: document.id, text: [...chosen, candidate].join('\n') }], { layout: 'line-comments' });
        if (tokenizer.countTokens(rendered) <= budget) {
          chosen.push(candidate);
          block = rendered;
          break;
        }
      }
    }
    if (chosen.length > 0) kept.push({ id: document.id, text: chosen.join('\n') });
  }
  return block;
}

/** Options of {@link buildCodeCompletionPrompt}. */
export interface CodeCompletionPromptOptions {
  /** The code before the cursor. */
  prefix: string;
  /** Counts tokens; use the model's own tokenizer. */
  tokenizer: Tokenizer;
  /** Tokens of the whole prompt (docs plus code), as the model's tokenizer counts the rendered prompt. */
  maximumPromptTokens: number;
  /** With a retriever, API docs for the last lines before the cursor go first, as comments. */
  retriever?: Retriever;
  /** Of the prompt, at most so many tokens of docs. Default a quarter of `maximumPromptTokens`. */
  maximumDocumentTokens?: number;
  /** Documents retrieved. Default 3. */
  documents?: number;
  /** Cancels the retrieval. */
  signal?: AbortSignal;
}

/**
 * A prompt for a base code model to continue `prefix`: retrieved docs (up to two lines of each that
 * fit, as `//` comments, within their budget) followed by the end of the prefix cut to whole lines
 * within what the docs leave (the token tail of the last line when not even one line fits). The
 * rendered prompt is counted whole and the prefix shrunk until it fits `maximumPromptTokens`.
 * Returns the prompt, its docs part and the tokens spent on docs.
 */
export async function buildCodeCompletionPrompt(options: CodeCompletionPromptOptions): Promise<{ prompt: string; documents: string; documentTokens: number }> {
  const { tokenizer } = options;
  const documents = options.retriever
    ? await documentBlock(
        options.retriever,
        options.prefix,
        options.documents ?? 3,
        options.maximumDocumentTokens ?? Math.floor(options.maximumPromptTokens / 4),
        tokenizer,
        options.signal,
      )
    : '';
  const documentTokens = documents ? tokenizer.countTokens(documents) : 0;
  // Tokens can merge across the join, so count the joined prompt and shrink the prefix until it fits.
  let prefixBudget = options.maximumPromptTokens - documentTokens;
  for (;;) {
    const prompt = documents + endWithin(options.prefix, prefixBudget, tokenizer);
    const excess = tokenizer.countTokens(prompt) - options.maximumPromptTokens;
    if (excess <= 0 || prefixBudget <= 0) return { prompt, documents, documentTokens };
    prefixBudget -= excess;
  }
}
