import { InvalidArgumentError, type RetrievedDocument, type Tokenizer } from '@codestack/core';
import { fitBudget, type BudgetSection } from '@codestack/tokenizer';
import { buildChatPrompt, defaultSystemPrompt, renderChatPrompt } from './chat-template.js';
import type { PromptParts, RepairTurn } from './prompt-parts.js';
import { PromptTooLongError } from './prompt-too-long-error.js';

/** Options of {@link allocatePromptBudget}. */
export interface PromptBudgetOptions {
  /** Counts and cuts the parts' tokens: the model's own tokenizer. */
  tokenizer: Tokenizer;
  /** The model's context window in tokens. */
  contextTokens: number;
  /** Tokens kept free for the answer. */
  reservedOutputTokens: number;
  /** The system prompt: kept whole when at all possible. Default `defaultSystemPrompt`; `''` for none. */
  system?: string;
  /** Retrieved documents, best first: the first to be truncated or dropped, the worst first. */
  documents?: readonly RetrievedDocument[];
  /** The user's context (such as the open file): truncated from the start, keeping its end. */
  context?: string;
  /** The instruction: never cut. */
  instruction: string;
  /** A repair round's previous answer (cut before the system prompt) and feedback (cut last). */
  repair?: RepairTurn;
  /**
   * The tokens of the prompt the model receives for `parts`: rendered with the model's own template
   * and counted with its own tokenizer. Default: {@link buildChatPrompt} rendered with
   * {@link renderChatPrompt} (the local models' template), counted with `tokenizer`.
   */
  measure?: (parts: PromptParts) => number;
}

/** What {@link allocatePromptBudget} kept and dropped. */
export interface PromptBudget {
  /** The system prompt as kept ('' when dropped or not wanted). */
  system: string;
  /** Documents kept, possibly truncated, best first. */
  documents: RetrievedDocument[];
  /** The context as kept. */
  context: string;
  /** The instruction. */
  instruction: string;
  /** The repair turn as kept, when one was given and not dropped. */
  repair?: RepairTurn;
  /** What was dropped whole: `system`, `context`, `document:<id>`, `repair-answer` or `repair-feedback`. */
  dropped: string[];
  /** What was cut short. */
  truncated: string[];
  /** Tokens of the rendered prompt (template, headings and separators included), as `measure` counts it. */
  usedTokens: number;
  /** The most the rendered prompt may take: `contextTokens - reservedOutputTokens`. */
  availableTokens: number;
}

/** The parts of a budget as prompt parts for a template. */
export function promptPartsOf(budget: PromptBudget): PromptParts {
  return {
    system: budget.system,
    documents: budget.documents,
    ...(budget.context ? { context: budget.context } : {}),
    instruction: budget.instruction,
    ...(budget.repair ? { repair: budget.repair } : {}),
  };
}

/**
 * Fits system prompt, documents, user context, instruction and a repair turn into the context
 * window with `reservedOutputTokens` kept for the answer, so that the **rendered** prompt (template,
 * headings and separators included, as `measure` counts it) takes at most
 * `contextTokens - reservedOutputTokens` tokens. It allocates the parts with the tokenizer's
 * `fitBudget`, renders and counts, and shrinks by the excess until the count fits; failing that it
 * drops whole parts, lowest priority first. Priorities, lowest first: documents in reverse rank
 * order, user context (keeps its end), the repair answer, the system prompt, the repair feedback,
 * and the instruction, which is never cut. Everything dropped or cut is reported.
 *
 * @throws PromptTooLongError (an `InvalidArgumentError`) when the instruction alone, rendered, does
 * not fit.
 */
export function allocatePromptBudget(options: PromptBudgetOptions): PromptBudget {
  const { tokenizer, contextTokens, reservedOutputTokens } = options;
  if (!Number.isInteger(contextTokens) || contextTokens < 1) throw new InvalidArgumentError({ argument: 'contextTokens', message: `must be a positive integer, got ${String(contextTokens)}` });
  if (!Number.isInteger(reservedOutputTokens) || reservedOutputTokens < 0 || reservedOutputTokens >= contextTokens) {
    throw new InvalidArgumentError({ argument: 'reservedOutputTokens', message: `must be an integer in [0, ${contextTokens - 1}], got ${String(reservedOutputTokens)}` });
  }
  const measure = options.measure ?? ((parts: PromptParts): number => tokenizer.countTokens(renderChatPrompt(buildChatPrompt(parts))));
  const availableTokens = contextTokens - reservedOutputTokens;
  const documents = options.documents ?? [];
  const system = options.system ?? defaultSystemPrompt;
  const instructionTokens = tokenizer.countTokens(options.instruction);
  const sections: BudgetSection[] = [
    { id: 'system', text: system, priority: 1000, minimumTokens: 1 },
    ...documents.map((document, index) => ({ id: `document:${index}`, text: document.text, priority: 10 + documents.length - index, minimumTokens: 8, kind: 'code' as const })),
    { id: 'context', text: options.context ?? '', priority: 500, keep: 'end' as const, kind: 'code' as const },
    ...(options.repair
      ? [
          { id: 'repair-answer', text: options.repair.answer, priority: 700, minimumTokens: 8, kind: 'code' as const },
          { id: 'repair-feedback', text: options.repair.feedback, priority: 2000, minimumTokens: 1 },
        ]
      : []),
    { id: 'instruction', text: options.instruction, priority: 10000, minimumTokens: instructionTokens },
  ];
  const documentName = (id: string): string => (id.startsWith('document:') ? `document:${documents[Number(id.slice(9))]!.id}` : id);
  const originalTokens = new Map(sections.map((section) => [section.id, tokenizer.countTokens(section.text)]));

  /** The budget for the kept sections (text by id; absent means dropped), rendered and counted. */
  const assemble = (kept: ReadonlyMap<string, string>): PromptBudget => {
    const truncated = sections.filter((section) => kept.has(section.id) && kept.get(section.id) !== section.text).map((section) => documentName(section.id));
    const dropped = sections.filter((section) => !kept.has(section.id) && originalTokens.get(section.id)! > 0).map((section) => documentName(section.id));
    const answer = kept.get('repair-answer');
    const feedback = kept.get('repair-feedback');
    const budget: PromptBudget = {
      system: kept.get('system') ?? '',
      documents: documents.flatMap((document, index) => {
        const text = kept.get(`document:${index}`);
        return text === undefined ? [] : [{ ...document, text }];
      }),
      context: kept.get('context') ?? '',
      instruction: options.instruction,
      dropped,
      truncated,
      usedTokens: 0,
      availableTokens,
    };
    if (answer !== undefined || feedback !== undefined) budget.repair = { answer: answer ?? '', feedback: feedback ?? '' };
    budget.usedTokens = measure(promptPartsOf(budget));
    return budget;
  };

  // Allocate, render, count; while the rendered prompt is too long, allocate again with its excess
  // taken off the parts' budget. Each round takes at least one more token off, so this ends.
  let slack = 0;
  while (slack <= availableTokens) {
    const fit = fitBudget({ budget: availableTokens - slack, tokenizer, sections });
    const kept = new Map(fit.sections.map((section) => [section.id, section.text]));
    if (!kept.has('instruction')) break;
    const budget = assemble(kept);
    if (budget.usedTokens <= availableTokens) return budget;
    slack += budget.usedTokens - availableTokens;
  }
  // The template's overhead with more parts kept can exceed what the instruction leaves: drop whole
  // parts, lowest priority first, down to the instruction alone.
  const kept = new Map(sections.map((section) => [section.id, section.text]));
  const order = [...sections].filter((section) => section.id !== 'instruction').sort((a, b) => a.priority - b.priority);
  for (const section of order) {
    kept.delete(section.id);
    const budget = assemble(kept);
    if (budget.usedTokens <= availableTokens) return budget;
  }
  throw new PromptTooLongError({
    what: `The instruction (${instructionTokens} tokens) rendered alone`,
    promptTokens: assemble(kept).usedTokens,
    contextTokens,
    reservedOutputTokens,
  });
}
