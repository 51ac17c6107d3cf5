export type { PromptParts, RepairTurn } from './prompt-parts.js';
export { renderDocuments, documentsHeading, type DocumentsLayout, type RenderDocumentsOptions } from './render-documents.js';
export { buildChatPrompt, renderChatPrompt, defaultSystemPrompt } from './chat-template.js';
export { buildCompletionPrompt, buildCodeCompletionPrompt, type CodeCompletionPromptOptions } from './completion-template.js';
export { buildFillInTheMiddlePrompt, defaultFillInTheMiddleSentinels, type FillInTheMiddleSentinels } from './fill-in-the-middle-template.js';
export { allocatePromptBudget, promptPartsOf, type PromptBudget, type PromptBudgetOptions } from './prompt-budget.js';
export { PromptTooLongError } from './prompt-too-long-error.js';
