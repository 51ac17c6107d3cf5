import type { LanguageModelCallOptions, LanguageModelMessage, Retriever, Tokenizer } from '@codestack/core';
import { InvalidArgumentError } from '@codestack/core';
import { fitBudget } from '@codestack/tokenizer';
import { renderDocuments } from '../prompt/render-documents.js';
import type { LanguageModelMiddleware } from '../models/wrap-language-model.js';

/** What the retrieval middleware put into a call. */
export interface RetrievalRecord {
  /** The query it searched for. */
  query: string;
  /** Documents used, in prompt order, with their token counts after fitting. */
  used: { id: string; score: number; tokens: number; truncated: boolean; source?: string }[];
  /** Documents retrieved but left out for lack of budget. */
  dropped: { id: string; score: number }[];
}

/** Options of {@link retrievalAugmentationMiddleware}. */
export interface RetrievalAugmentationOptions {
  /** Finds the documents. */
  retriever: Retriever;
  /** Counts and cuts tokens. */
  tokenizer: Tokenizer;
  /** The most tokens the documents may take. */
  maximumDocumentTokens: number;
  /** Documents to ask for. Default 4. */
  topK?: number;
  /** Called with what was used, once per call. */
  onRetrieval?: (record: RetrievalRecord) => void;
}

/**
 * Retrieval-augmented generation as middleware: searches the injected retriever with the last
 * user message (or the text prompt), fits the best documents into `maximumDocumentTokens` with
 * the tokenizer (best first; lower-ranked documents are truncated, then dropped), and adds them
 * as a system message (chat) or a leading block (text). The generate result's
 * `providerMetadata.codestack.retrieval` records which documents were used.
 */
export function retrievalAugmentationMiddleware(options: RetrievalAugmentationOptions): LanguageModelMiddleware {
  if (!Number.isInteger(options.maximumDocumentTokens) || options.maximumDocumentTokens < 1) {
    throw new InvalidArgumentError({ argument: 'maximumDocumentTokens', message: 'must be a positive integer' });
  }
  const records = new WeakMap<LanguageModelCallOptions, RetrievalRecord>();
  return {
    async transformParams({ params }) {
      const query = typeof params.prompt === 'string' ? params.prompt : ([...params.prompt].reverse().find((message) => message.role === 'user')?.content ?? '');
      if (query.trim() === '') return params;
      const documents = await options.retriever.retrieve(query, { topK: options.topK ?? 4, signal: params.abortSignal });
      const fit = fitBudget({
        budget: options.maximumDocumentTokens,
        tokenizer: options.tokenizer,
        sections: documents.map((document, index) => ({ id: String(index), text: document.text, priority: documents.length - index, minimumTokens: 16 })),
      });
      const used = fit.sections.map((section) => {
        const document = documents[Number(section.id)]!;
        return { id: document.id, score: document.score, tokens: section.tokens, truncated: section.truncated, text: section.text, source: document.source };
      });
      const record: RetrievalRecord = {
        query,
        used: used.map(({ text: _text, ...rest }) => rest),
        dropped: fit.dropped.map((section) => ({ id: documents[Number(section.id)]!.id, score: documents[Number(section.id)]!.score })),
      };
      options.onRetrieval?.(record);
      if (used.length === 0) return params;
      const block = renderDocuments(used, { layout: 'section' });
      const prompt: LanguageModelCallOptions['prompt'] =
        typeof params.prompt === 'string'
          ? `${block}\n\n${params.prompt}`
          : [{ role: 'system', content: block } satisfies LanguageModelMessage, ...params.prompt];
      const transformed = { ...params, prompt };
      records.set(transformed, record);
      return transformed;
    },
    async wrapGenerate({ doGenerate, params }) {
      const result = await doGenerate();
      const record = records.get(params);
      if (!record) return result;
      return { ...result, providerMetadata: { ...result.providerMetadata, codestack: { ...result.providerMetadata?.codestack, retrieval: record } } };
    },
  };
}
