import { InvalidArgumentError, type RetrievedDocument, type Tokenizer } from '@codestack/core';
import { fitBudget } from '@codestack/tokenizer';

/** Options of {@link allocatePromptBudget}. */
export interface PromptBudgetOptions {
  /** Counts and cuts tokens. */
  tokenizer: Tokenizer;
  /** The model's context window in tokens. */
  contextTokens: number;
  /** Tokens kept free for the answer. */
  reservedOutputTokens: number;
  /** The system prompt: kept whole when at all possible. */
  system?: string;
  /** Retrieved documents, best first: the first to be truncated or dropped, the worst first. */
  documents?: readonly RetrievedDocument[];
  /** The user's context (such as the open file): truncated from the start, keeping its end. */
  context?: string;
  /** The instruction: never cut. */
  instruction: string;
}

/** What {@link allocatePromptBudget} kept and dropped. */
export interface PromptBudget {
  /** The system prompt as kept ('' when dropped). */
  system: string;
  /** Documents kept, possibly truncated, best first. */
  documents: RetrievedDocument[];
  /** The context as kept. */
  context: string;
  /** The instruction. */
  instruction: string;
  /** What was dropped whole: `system`, `context` or `document:<id>`. */
  dropped: string[];
  /** What was cut short. */
  truncated: string[];
  /** Tokens used by the kept parts (separators not counted). */
  usedTokens: number;
}

/**
 * Splits the context window over system prompt, documents, user context and instruction, with
 * `reservedOutputTokens` kept for the answer, using the tokenizer's `fitBudget`. Priorities:
 * instruction (never cut; an instruction that alone does not fit is an `INVALID_ARGUMENT`),
 * system prompt, user context (keeps its end), then documents in rank order.
 */
export function allocatePromptBudget(options: PromptBudgetOptions): PromptBudget {
  const documents = options.documents ?? [];
  const instructionTokens = options.tokenizer.countTokens(options.instruction);
  if (instructionTokens + options.reservedOutputTokens > options.contextTokens) {
    throw new InvalidArgumentError({
      argument: 'instruction',
      message: `${instructionTokens} instruction tokens plus ${options.reservedOutputTokens} reserved do not fit in ${options.contextTokens}`,
    });
  }
  const fit = fitBudget({
    budget: options.contextTokens,
    reservedTokens: options.reservedOutputTokens,
    tokenizer: options.tokenizer,
    sections: [
      { id: 'system', text: options.system ?? '', priority: 1000, minimumTokens: 1 },
      ...documents.map((document, index) => ({ id: `document:${index}`, text: document.text, priority: 10 + documents.length - index, minimumTokens: 8, kind: 'code' as const })),
      { id: 'context', text: options.context ?? '', priority: 500, keep: 'end' as const, kind: 'code' as const },
      { id: 'instruction', text: options.instruction, priority: 10000, minimumTokens: instructionTokens },
    ],
  });
  const byId = new Map(fit.sections.map((section) => [section.id, section]));
  const documentName = (id: string): string => (id.startsWith('document:') ? `document:${documents[Number(id.slice(9))]!.id}` : id);
  return {
    system: byId.get('system')?.text ?? '',
    documents: documents.flatMap((document, index) => {
      const section = byId.get(`document:${index}`);
      return section ? [{ ...document, text: section.text }] : [];
    }),
    context: byId.get('context')?.text ?? '',
    instruction: options.instruction,
    dropped: fit.dropped.filter((section) => section.originalTokens > 0).map((section) => documentName(section.id)),
    truncated: fit.truncated.map(documentName),
    usedTokens: fit.usedTokens,
  };
}
