import type { Retriever, Tokenizer } from '@codestack/core';

/** Keeps the last lines of `text` that fit in `budget` tokens (whole lines, so the prompt starts cleanly). */
function lastLinesWithin(text: string, budget: number, tokenizer: Tokenizer): string {
  if (budget <= 0) return '';
  if (tokenizer.countTokens(text) <= budget) return text;
  const lines = text.split('\n');
  let start = lines.length;
  let used = 0;
  while (start > 0) {
    const cost = tokenizer.countTokens(`${lines[start - 1]}\n`);
    if (used + cost > budget) break;
    used += cost;
    start -= 1;
  }
  let kept = lines.slice(start).join('\n');
  // Token counts of lines are nearly additive; drop lines until the joined text really fits.
  while (kept.length > 0 && tokenizer.countTokens(kept) > budget) kept = kept.slice(kept.indexOf('\n') + 1 || kept.length);
  if (kept.length === 0) {
    // One line longer than the budget: keep its tail by tokens.
    const ids = tokenizer.encode(text);
    kept = tokenizer.decode(ids.slice(ids.length - budget));
  }
  return kept;
}

/** The query for a case: the last few non-blank lines before the cursor. */
function queryFor(prefix: string): string {
  return prefix
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .slice(-3)
    .join('\n');
}

/** Renders retrieved docs (up to two lines of each that fit) as line comments, within `budget` tokens. */
async function documentBlock(retriever: Retriever, prefix: string, k: number, budget: number, tokenizer: Tokenizer, signal: AbortSignal | undefined): Promise<string> {
  const query = queryFor(prefix);
  if (!query.trim() || budget <= 0) return '';
  const documents = await retriever.retrieve(query, { topK: k, ...(signal ? { signal } : {}) });
  let block = '';
  for (const document of documents) {
    const lines = document.text
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .map((line) => `// ${line}\n`);
    // Up to two lines per document, in order. A line that does not fit is cut to its first
    // sentence, or else skipped, so long overloaded signatures do not shut out the documentation
    // line after them.
    let added = 0;
    for (const line of lines) {
      if (added === 2) break;
      const sentence = /^.*?[.!?](?=\s|$)/.exec(line.slice(3))?.[0];
      for (const candidate of sentence === undefined ? [line] : [line, `// ${sentence}\n`]) {
        if (tokenizer.countTokens(block + candidate) <= budget) {
          block += candidate;
          added += 1;
          break;
        }
      }
    }
  }
  return block;
}

/** Options of {@link buildCodeCompletionPrompt}. */
export interface CodeCompletionPromptOptions {
  /** The code before the cursor. */
  prefix: string;
  /** Counts tokens; use the model's own tokenizer. */
  tokenizer: Tokenizer;
  /** Tokens of the whole prompt (docs plus code). */
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
 * fit, as `//` comments, within their budget) followed by the end of the prefix cut to whole lines within what
 * the docs leave. Returns the prompt, its docs part and the tokens spent on docs.
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
  return { prompt: documents + lastLinesWithin(options.prefix, options.maximumPromptTokens - documentTokens, tokenizer), documents, documentTokens };
}
