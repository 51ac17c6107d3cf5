import type { RetrievedDocument } from '@codestack/core';

/** The previous answer and the validation feedback of a repair round. */
export interface RepairTurn {
  /** The model's previous answer. */
  answer: string;
  /** What was wrong with it and what to do (see `repairFeedback`). */
  feedback: string;
}

/** The parts of a code-generation prompt, before a template renders them. */
export interface PromptParts {
  /** The system prompt (chat models). `undefined` means `defaultSystemPrompt`; `''` means none. */
  system?: string;
  /** Retrieved reference documents, best first. */
  documents?: readonly Pick<RetrievedDocument, 'id' | 'text'>[];
  /** The user's own context, such as the surrounding file. */
  context?: string;
  /** What to do. */
  instruction: string;
  /** In a repair round: the previous answer and the feedback on it. */
  repair?: RepairTurn;
}
