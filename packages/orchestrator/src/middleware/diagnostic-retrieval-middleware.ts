import type { LanguageModelCallOptions, LanguageModelMessage, Retriever, Tokenizer } from '@codestack/core';
import { InvalidArgumentError } from '@codestack/core';
import { extractCode } from '../generate-code/extract-code.js';
import { retrieveRepairDocuments, type RepairDocuments } from '../generate-code/diagnostic-queries.js';
import { renderDocuments } from '../prompt/render-documents.js';
import type { CodeDiagnostic } from '../validation/type-check/type-check.js';
import type { LanguageModelMiddleware } from '../models/wrap-language-model.js';

/**
 * What a repair call fixes: `providerOptions.codestack.repair`, which `generateCode` sets on every
 * repair round (the diagnostics of the failed answer and its code).
 */
export interface RepairMarker {
  diagnostics: readonly CodeDiagnostic[];
  code?: string;
}

/** Lookups already done for a repair marker, by the retriever that did them (kept off the marker so it stays plain data). */
const repairLookups = new WeakMap<RepairMarker, { retriever: Retriever; found: RepairDocuments }>();

/**
 * Records that `retriever` already did the repair lookup (`retrieveRepairDocuments`) for `repair`,
 * as `generateCode` does before it marks a repair call: `diagnosticRetrievalMiddleware` over the
 * same retriever then uses `found` instead of searching again; one over another retriever (another
 * index) still does its own lookup.
 */
export function recordRepairLookup(repair: RepairMarker, retriever: Retriever, found: RepairDocuments): void {
  repairLookups.set(repair, { retriever, found });
}

/** The call's provider options with `codestack.repair` set to `repair` (unchanged without one). */
export function repairProviderOptions(providerOptions: Record<string, Record<string, unknown>> | undefined, repair: RepairMarker | undefined): Record<string, Record<string, unknown>> {
  if (!repair) return { ...providerOptions };
  return { ...providerOptions, codestack: { ...providerOptions?.codestack, repair } };
}

/** What {@link diagnosticRetrievalMiddleware} did on a repair call. */
export interface DiagnosticRetrievalRecord {
  /** The queries, from the diagnostics and the failing code. */
  queries: string[];
  /** The documents inserted, in prompt order. */
  used: { id: string; tokens: number }[];
  /** Found but already in the prompt, or over the token budget. */
  skipped: { id: string; reason: 'in prompt' | 'budget' }[];
}

/** Options of {@link diagnosticRetrievalMiddleware}. */
export interface DiagnosticRetrievalOptions {
  /** Finds the documents (a docs-index retriever gives compact signatures). */
  retriever: Retriever;
  /** Counts tokens. */
  tokenizer: Tokenizer;
  /** The most tokens the inserted documents may take. Default 512. */
  maximumDocumentTokens?: number;
  /** Called once per repair call with what was inserted. */
  onRetrieval?: (record: DiagnosticRetrievalRecord) => void;
}

/**
 * Diagnostics-driven retrieval as middleware: on a repair call it looks up the APIs the type
 * checker names (a misspelt member, a member asked of the wrong module, a call with the wrong
 * arguments, resolved through the failing code's imports) and inserts their real signatures as a
 * system message just before the repair message. A call is a repair call when it carries
 * `providerOptions.codestack.repair = { diagnostics, code }` (as `generateCode` sets), or else when
 * its last user message holds TypeScript diagnostics (`file:line:col - error TS2551: …`, as
 * `repairFeedback` writes them), the code then being the last assistant message's fenced block.
 * Documents whose text the prompt already holds (as `retrievalAugmentationMiddleware` or
 * `generateCode` put them) are not repeated: list it before (outside) `retrievalAugmentationMiddleware`
 * so that its signatures go next to the repair message rather than being skipped as already in the
 * retrieval augmentation's block. Other calls pass through untouched. The lookup is `retrieveRepairDocuments`, the one
 * `generateCode` uses; when `generateCode` already did it with this same retriever (see
 * {@link recordRepairLookup}), its result is used and the index is not searched again.
 */
export function diagnosticRetrievalMiddleware(options: DiagnosticRetrievalOptions): LanguageModelMiddleware {
  const maximumTokens = options.maximumDocumentTokens ?? 512;
  if (!Number.isInteger(maximumTokens) || maximumTokens < 1) {
    throw new InvalidArgumentError({ argument: 'maximumDocumentTokens', message: 'must be a positive integer' });
  }
  return {
    async transformParams({ params }) {
      const repair = repairOf(params);
      if (!repair || repair.diagnostics.length === 0) return params;
      const known = repairLookups.get(repair);
      const found =
        known?.retriever === options.retriever
          ? known.found
          : await retrieveRepairDocuments({ retriever: options.retriever, diagnostics: repair.diagnostics, ...(repair.code === undefined ? {} : { code: repair.code }), ...(params.abortSignal ? { signal: params.abortSignal } : {}) });
      if (found.queries.length === 0) return params;
      const promptText = typeof params.prompt === 'string' ? params.prompt : params.prompt.map((message) => message.content).join('\n');
      const record: DiagnosticRetrievalRecord = { queries: found.queries, used: [], skipped: [] };
      const used: { id: string; text: string }[] = [];
      let total = 0;
      for (const document of found.documents) {
        const text = (document.compact ?? document.text).trim();
        if (promptText.includes(text)) {
          record.skipped.push({ id: document.id, reason: 'in prompt' });
          continue;
        }
        const tokens = options.tokenizer.countTokens(text);
        if (total + tokens > maximumTokens) {
          record.skipped.push({ id: document.id, reason: 'budget' });
          continue;
        }
        total += tokens;
        used.push({ id: document.id, text });
        record.used.push({ id: document.id, tokens });
      }
      options.onRetrieval?.(record);
      if (used.length === 0) return params;
      const block = `The real signatures of the APIs the compiler named:\n\n${renderDocuments(used)}`;
      if (typeof params.prompt === 'string') return { ...params, prompt: `${block}\n\n${params.prompt}` };
      const messages = [...params.prompt];
      const last = messages.map((message) => message.role).lastIndexOf('user');
      messages.splice(last < 0 ? messages.length : last, 0, { role: 'system', content: block } satisfies LanguageModelMessage);
      return { ...params, prompt: messages };
    },
  };
}

/** The repair a call is for: its `codestack.repair` provider option, else diagnostics in its last user message. */
function repairOf(params: LanguageModelCallOptions): RepairMarker | undefined {
  const marked = params.providerOptions?.codestack?.repair as RepairMarker | undefined;
  if (marked && Array.isArray(marked.diagnostics)) return marked;
  if (typeof params.prompt === 'string') return undefined;
  const messages = [...params.prompt];
  const lastUser = messages.map((message) => message.role).lastIndexOf('user');
  if (lastUser < 0) return undefined;
  const diagnostics = parseDiagnostics(messages[lastUser]!.content);
  if (diagnostics.length === 0) return undefined;
  const answer = messages.slice(0, lastUser).reverse().find((message) => message.role === 'assistant');
  return { diagnostics, ...(answer ? { code: extractCode(answer.content).code } : {}) };
}

/** Diagnostics as `repairFeedback` writes them: `[file:line:col - ]error TS2551: message`. */
export function parseDiagnostics(text: string): CodeDiagnostic[] {
  const diagnostics: CodeDiagnostic[] = [];
  for (const match of text.matchAll(/^(?:(.+?):(\d+)(?::(\d+))? - )?(error|warning|suggestion|message) TS(\d+): (.+)$/gm)) {
    diagnostics.push({
      code: Number(match[5]),
      category: match[4] as CodeDiagnostic['category'],
      message: match[6]!,
      ...(match[1] === undefined ? {} : { file: match[1] }),
      ...(match[2] === undefined ? {} : { line: Number(match[2]) }),
      ...(match[3] === undefined ? {} : { column: Number(match[3]) }),
    });
  }
  return diagnostics;
}
