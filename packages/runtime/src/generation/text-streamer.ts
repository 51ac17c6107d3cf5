import { createIncrementalDecoder, type IncrementalDecoder, type Tokenizer } from '@codestack/core';
import type { StoppingCriterion } from './stopping-criteria.js';

/**
 * The text stage of generation for one sequence: the decoding loop hands it token ids, it keeps
 * the text decoded so far and says which part of it is safe to show. It holds back what may still
 * change: a character split across tokens (the tokenizer's incremental decoder keeps those bytes)
 * and the characters a stopping criterion declares with `holdBackCharacters` (a stop sequence's
 * possible start). Each token costs a decode of that token only (see `createIncrementalDecoder`).
 */
export class TextStreamer {
  private readonly decoder: IncrementalDecoder;
  private readonly criteria: readonly StoppingCriterion[];
  private decoded = '';
  private emittedLength = 0;
  private ended = false;

  /** Creates the stage for `tokenizer`; `criteria` declare what text they hold back. */
  constructor(tokenizer: Tokenizer, criteria: readonly StoppingCriterion[] = []) {
    this.decoder = createIncrementalDecoder(tokenizer);
    this.criteria = criteria.filter((criterion) => typeof criterion.holdBackCharacters === 'function');
  }

  /** The text decoded so far (whole characters only until {@link TextStreamer.end}). */
  get text(): string {
    return this.decoded;
  }

  /** Adds generated token ids. */
  put(tokens: readonly number[]): void {
    this.decoded += this.decoder.push(tokens);
  }

  /** The text that is final now and was not returned before ('' while everything new is held back). */
  takeDelta(): string {
    let visibleEnd = this.decoded.length;
    let holdBack = 0;
    for (const criterion of this.criteria) holdBack = Math.max(holdBack, criterion.holdBackCharacters?.(this.decoded) ?? 0);
    visibleEnd -= holdBack;
    if (visibleEnd <= this.emittedLength) return '';
    const delta = this.decoded.slice(this.emittedLength, visibleEnd);
    this.emittedLength = visibleEnd;
    return delta;
  }

  /**
   * Ends the stream: adds what the decoder held back, cuts the text to `keepTextLength` when given
   * (a stop sequence's start), and returns the rest not returned before.
   */
  end(keepTextLength?: number): string {
    if (!this.ended) {
      this.ended = true;
      this.decoded += this.decoder.flush();
    }
    if (keepTextLength !== undefined) this.decoded = this.decoded.slice(0, keepTextLength);
    const delta = this.decoded.slice(this.emittedLength);
    this.emittedLength = Math.max(this.emittedLength, this.decoded.length);
    return delta;
  }
}
