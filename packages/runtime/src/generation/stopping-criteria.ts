import { InvalidArgumentError } from '@codestack/core';

/** Why a sequence stopped. */
export type FinishReason = 'length' | 'end-of-sequence' | 'stop-sequence' | 'context';

/** The state of one sequence that a {@link StoppingCriterion} inspects after each new token. */
export interface GenerationState {
  /** Tokens generated so far (not the prompt). */
  generatedIds: readonly number[];
  /** The text of `generatedIds`, when a tokenizer was given. */
  text: string | undefined;
}

/** Decides whether a sequence is finished. */
export interface StoppingCriterion {
  /**
   * Returns a finish reason to stop, or `undefined` to go on. A criterion may also return the
   * length of text to keep (stop sequences cut the text before the match).
   */
  check(state: GenerationState): { reason: FinishReason; keepTextLength?: number } | undefined;
  /**
   * Optional: how many characters at the end of `text` a stream must hold back because a later
   * token could still make them part of a match (a stop sequence's prefix). The text streamer asks
   * every criterion and holds back the most; criteria that do not look at text leave it out.
   */
  holdBackCharacters?(text: string): number;
}

/** Stops after `maximumTokens` generated tokens. */
export class MaximumTokensCriterion implements StoppingCriterion {
  /** Creates the criterion; `maximumTokens` must be a positive integer. */
  constructor(readonly maximumTokens: number) {
    if (!Number.isInteger(maximumTokens) || maximumTokens < 1) {
      throw new InvalidArgumentError({ argument: 'maximumTokens', message: `expected a positive integer, got ${maximumTokens}` });
    }
  }

  /** Returns a finish reason when the sequence should stop, `undefined` to go on. */
  check(state: GenerationState): { reason: FinishReason } | undefined {
    return state.generatedIds.length >= this.maximumTokens ? { reason: 'length' } : undefined;
  }
}

/** Stops when the last generated token is one of `endOfSequenceIds`. */
export class EndOfSequenceCriterion implements StoppingCriterion {
  private readonly ids: Set<number>;

  /** Creates the criterion for the given token ids. */
  constructor(endOfSequenceIds: readonly number[]) {
    this.ids = new Set(endOfSequenceIds);
  }

  /** Returns a finish reason when the sequence should stop, `undefined` to go on. */
  check(state: GenerationState): { reason: FinishReason } | undefined {
    const last = state.generatedIds[state.generatedIds.length - 1];
    return last !== undefined && this.ids.has(last) ? { reason: 'end-of-sequence' } : undefined;
  }
}

/**
 * Stops when the decoded text contains one of `stopSequences`, even when the match spans several
 * tokens; the text is cut before the match.
 */
export class StopSequenceCriterion implements StoppingCriterion {
  /** Creates the criterion; the strings must be non-empty. */
  constructor(readonly stopSequences: readonly string[]) {
    if (stopSequences.some((sequence) => typeof sequence !== 'string' || sequence.length === 0)) {
      throw new InvalidArgumentError({ argument: 'stopSequences', message: 'every stop sequence must be a non-empty string' });
    }
  }

  /** Returns a finish reason when the sequence should stop, `undefined` to go on. */
  check(state: GenerationState): { reason: FinishReason; keepTextLength: number } | undefined {
    if (state.text === undefined) return undefined;
    let earliest = -1;
    for (const sequence of this.stopSequences) {
      const index = state.text.indexOf(sequence);
      if (index !== -1 && (earliest === -1 || index < earliest)) earliest = index;
    }
    return earliest === -1 ? undefined : { reason: 'stop-sequence', keepTextLength: earliest };
  }

  /**
   * How many characters at the end of `text` could still start a stop sequence: a stream holds
   * them back so it never emits text that a later token turns into a stop sequence.
   */
  holdBackCharacters(text: string): number {
    let longest = 0;
    for (const sequence of this.stopSequences) {
      for (let length = Math.min(sequence.length - 1, text.length); length > longest; length--) {
        if (text.endsWith(sequence.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }

  /** @deprecated Use {@link StopSequenceCriterion.holdBackCharacters} (the {@link StoppingCriterion} hook). */
  pendingSuffixLength(text: string): number {
    return this.holdBackCharacters(text);
  }
}
