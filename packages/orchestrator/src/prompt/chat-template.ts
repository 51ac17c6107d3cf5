import type { LanguageModelMessage } from '@codestack/core';
import type { PromptParts } from './prompt-parts.js';
import { renderDocuments } from './render-documents.js';

/** The system prompt used when none is given. */
export const defaultSystemPrompt =
  'You are a careful TypeScript engineer. Answer with one fenced code block containing the complete code, and nothing else.';

/**
 * A chat prompt: the system message (`parts.system`, else {@link defaultSystemPrompt}; none for
 * `''`), one user message with the documents, context and instruction, and in a repair round the
 * previous answer as an assistant message followed by the feedback as a user message (each left
 * out when empty).
 */
export function buildChatPrompt(parts: PromptParts): LanguageModelMessage[] {
  const sections: string[] = [];
  if (parts.documents?.length) sections.push(renderDocuments(parts.documents, { layout: 'section' }));
  if (parts.context) sections.push(`Context:\n\n${parts.context}`);
  sections.push(`Task:\n\n${parts.instruction}`);
  const system = parts.system ?? defaultSystemPrompt;
  return [
    ...(system === '' ? [] : [{ role: 'system', content: system } satisfies LanguageModelMessage]),
    { role: 'user', content: sections.join('\n\n') },
    ...(parts.repair?.answer ? [{ role: 'assistant', content: parts.repair.answer } satisfies LanguageModelMessage] : []),
    ...(parts.repair?.feedback ? [{ role: 'user', content: parts.repair.feedback } satisfies LanguageModelMessage] : []),
  ];
}

/**
 * The plain-text chat template of the local models (base models without a chat format of their
 * own): `### System`, `### User`, `### Assistant` sections, ending with an open assistant section.
 */
export function renderChatPrompt(messages: readonly LanguageModelMessage[]): string {
  const title = { system: 'System', user: 'User', assistant: 'Assistant' } as const;
  return `${messages.map((message) => `### ${title[message.role]}\n${message.content.trim()}\n`).join('\n')}\n### Assistant\n`;
}
