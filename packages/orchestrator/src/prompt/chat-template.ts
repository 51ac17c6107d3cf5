import type { LanguageModelMessage, RetrievedDocument } from '@codestack/core';

/** The parts of a code-generation prompt. */
export interface PromptParts {
  /** The system prompt (chat models). */
  system?: string;
  /** Retrieved reference documents, best first. */
  documents?: readonly Pick<RetrievedDocument, 'id' | 'text'>[];
  /** The user's own context, such as the surrounding file. */
  context?: string;
  /** What to do. */
  instruction: string;
}

/** The system prompt used when none is given. */
export const defaultSystemPrompt =
  'You are a careful TypeScript engineer. Answer with one fenced code block containing the complete code, and nothing else.';

/** Renders documents as `[id]` headed blocks. */
export function renderDocuments(documents: readonly Pick<RetrievedDocument, 'id' | 'text'>[]): string {
  return documents.map((document) => `[${document.id}]\n${document.text.trim()}`).join('\n\n');
}

/** A chat prompt: the system message, then one user message with documents, context and instruction. */
export function buildChatPrompt(parts: PromptParts): LanguageModelMessage[] {
  const sections: string[] = [];
  if (parts.documents?.length) sections.push(`Reference documents:\n\n${renderDocuments(parts.documents)}`);
  if (parts.context) sections.push(`Context:\n\n${parts.context}`);
  sections.push(`Task:\n\n${parts.instruction}`);
  return [
    { role: 'system', content: parts.system ?? defaultSystemPrompt },
    { role: 'user', content: sections.join('\n\n') },
  ];
}

/**
 * A completion prompt for base code models: documents and the instruction as a leading comment,
 * then the context (code to continue).
 */
export function buildCompletionPrompt(parts: PromptParts): string {
  const comment = [
    ...(parts.documents?.length ? ['Reference documents:', '', ...renderDocuments(parts.documents).split('\n'), ''] : []),
    parts.instruction,
  ]
    .map((line) => (line ? ` * ${line.replaceAll('*/', '* /')}` : ' *'))
    .join('\n');
  return `/**\n${comment}\n */\n${parts.context ?? ''}`;
}

/** The sentinel strings of a fill-in-the-middle model. Defaults are StarCoder's. */
export interface FillInTheMiddleSentinels {
  /** Default `<fim_prefix>`. */
  prefix: string;
  /** Default `<fim_suffix>`. */
  suffix: string;
  /** Default `<fim_middle>`. */
  middle: string;
}

/** A fill-in-the-middle prompt in prefix-suffix-middle order: the model writes what goes between. */
export function buildFillInTheMiddlePrompt(
  prefix: string,
  suffix: string,
  sentinels: FillInTheMiddleSentinels = { prefix: '<fim_prefix>', suffix: '<fim_suffix>', middle: '<fim_middle>' },
): string {
  return `${sentinels.prefix}${prefix}${sentinels.suffix}${suffix}${sentinels.middle}`;
}
