import { InvalidArgumentError, type Tokenizer } from '@codestack/core';
import { assertString, assertTokenizer, assertWholeNumber } from './argument-checks.js';
import { splitLinesKeepingEndings } from './chunk-packing.js';

/** One section of a prompt competing for the token budget. */
export interface BudgetSection {
  /** A name the result reports the section under, such as `system` or `docs`. */
  id: string;
  /** The section's text. */
  text: string;
  /** Higher is more important. The lowest priority is truncated or dropped first. */
  priority: number;
  /** Keep at least this many tokens or drop the section entirely (default 0: any size will do). */
  minimumTokens?: number;
  /** Never give the section more than this many tokens (it is truncated down to it first). */
  maximumTokens?: number;
  /** `code` cuts at line boundaries; `text` (default) cuts at token boundaries. */
  kind?: 'text' | 'code';
  /** Which end to keep when truncating: `start` (default) or `end` (e.g. the latest chat history). */
  keep?: 'start' | 'end';
}

/** Options of {@link fitBudget}. */
export interface FitBudgetOptions {
  /** The total tokens available (e.g. the model's context window). A whole number ≥ 0. */
  budget: number;
  /** The sections, in prompt order. */
  sections: readonly BudgetSection[];
  /** Counts and cuts the tokens. */
  tokenizer: Tokenizer;
  /** Tokens set aside first, such as for the model's reply (default 0). */
  reservedTokens?: number;
}

/** A section as fitted. */
export interface FittedSection {
  /** The section's id. */
  id: string;
  /** The text kept (the whole text unless truncated). */
  text: string;
  /** The tokens of `text`. */
  tokens: number;
  /** The tokens of the original text. */
  originalTokens: number;
  /** Whether the text was cut. */
  truncated: boolean;
}

/** A section that did not fit at all. */
export interface DroppedSection {
  /** The section's id. */
  id: string;
  /** The tokens of the original text. */
  originalTokens: number;
  /** Why: its `minimumTokens` could not be met, or nothing of it fit (`budget`). */
  reason: 'minimum-not-met' | 'budget';
}

/** The result of {@link fitBudget}. */
export interface BudgetFit {
  /** The sections kept, in their original order. */
  sections: FittedSection[];
  /** The sections dropped: first those whose maximum cut left less than their minimum, then by budget, lowest priority first. */
  dropped: DroppedSection[];
  /** The ids of the sections that were cut. */
  truncated: string[];
  /** The tokens the kept sections take together (never above `budget - reservedTokens`). */
  usedTokens: number;
  /** The tokens left for the prompt sections: `budget - reservedTokens`. */
  availableTokens: number;
  /** The tokens reserved (e.g. for the reply). */
  reservedTokens: number;
}

interface WorkingSection {
  section: BudgetSection;
  order: number;
  text: string;
  tokens: number;
  originalTokens: number;
  truncated: boolean;
}

/**
 * Fits prompt sections into a token budget. Each section is first cut to its `maximumTokens`. While
 * the total exceeds `budget - reservedTokens`, the lowest-priority section still kept (the later
 * one on a tie) is truncated by the excess — at token boundaries, or at line boundaries for
 * `kind: 'code'` — or dropped when that would leave it below its `minimumTokens` or empty.
 * The sum of the kept sections' token counts never exceeds the budget; sections are counted one by
 * one, so joining them with separators costs the separators' tokens on top.
 *
 * Throws `INVALID_ARGUMENT` for a negative or fractional budget, a reservation above the budget, or
 * a malformed section.
 */
export function fitBudget(options: FitBudgetOptions): BudgetFit {
  assertWholeNumber(options?.budget, 'budget');
  const { tokenizer } = options;
  assertTokenizer(tokenizer);
  const reservedTokens = options.reservedTokens ?? 0;
  assertWholeNumber(reservedTokens, 'reservedTokens');
  if (reservedTokens > options.budget) {
    throw new InvalidArgumentError({
      argument: 'reservedTokens',
      message: `reserves ${reservedTokens} tokens of a budget of only ${options.budget}`,
    });
  }
  if (!Array.isArray(options.sections)) {
    throw new InvalidArgumentError({ argument: 'sections', message: 'expected an array of sections' });
  }
  const availableTokens = options.budget - reservedTokens;
  const working: WorkingSection[] = options.sections.map((section, order) => {
    checkSection(section, order);
    const originalTokens = tokenizer.countTokens(section.text);
    const kept: WorkingSection = {
      section,
      order,
      text: section.text,
      tokens: originalTokens,
      originalTokens,
      truncated: false,
    };
    if (section.maximumTokens !== undefined && originalTokens > section.maximumTokens) {
      cut(kept, section.maximumTokens, tokenizer);
    }
    return kept;
  });

  const dropped: DroppedSection[] = [];
  const kept = new Set(working);
  // Cutting to maximumTokens at line boundaries can leave less than minimumTokens.
  for (const entry of working) {
    if (entry.truncated && (entry.tokens === 0 || entry.tokens < (entry.section.minimumTokens ?? 0))) {
      kept.delete(entry);
      dropped.push({ id: entry.section.id, originalTokens: entry.originalTokens, reason: 'minimum-not-met' });
    }
  }
  const byPriority = [...kept].sort((a, b) => a.section.priority - b.section.priority || b.order - a.order);
  let used = byPriority.reduce((sum, entry) => sum + entry.tokens, 0);
  for (const entry of byPriority) {
    if (used <= availableTokens) break;
    const target = entry.tokens - (used - availableTokens);
    const minimum = entry.section.minimumTokens ?? 0;
    if (target > 0 && target >= minimum) {
      used -= entry.tokens;
      cut(entry, target, tokenizer);
      used += entry.tokens;
      if (entry.tokens > 0 && entry.tokens >= minimum) continue;
      used -= entry.tokens;
    } else {
      used -= entry.tokens;
    }
    kept.delete(entry);
    dropped.push({
      id: entry.section.id,
      originalTokens: entry.originalTokens,
      reason: target > 0 && minimum > 0 ? 'minimum-not-met' : 'budget',
    });
  }
  const sections = working
    .filter((entry) => kept.has(entry))
    .map((entry) => ({
      id: entry.section.id,
      text: entry.text,
      tokens: entry.tokens,
      originalTokens: entry.originalTokens,
      truncated: entry.truncated,
    }));
  return {
    sections,
    dropped,
    truncated: sections.filter((section) => section.truncated).map((section) => section.id),
    usedTokens: used,
    availableTokens,
    reservedTokens,
  };
}

function checkSection(section: BudgetSection, order: number): void {
  const name = `sections[${order}]`;
  if (typeof section !== 'object' || section === null) {
    throw new InvalidArgumentError({ argument: name, message: 'expected a section object' });
  }
  assertString(section.id, `${name}.id`);
  assertString(section.text, `${name}.text`);
  if (typeof section.priority !== 'number' || !Number.isFinite(section.priority)) {
    throw new InvalidArgumentError({ argument: `${name}.priority`, message: 'expected a finite number' });
  }
  if (section.minimumTokens !== undefined) assertWholeNumber(section.minimumTokens, `${name}.minimumTokens`);
  if (section.maximumTokens !== undefined) assertWholeNumber(section.maximumTokens, `${name}.maximumTokens`);
  if (
    section.minimumTokens !== undefined &&
    section.maximumTokens !== undefined &&
    section.minimumTokens > section.maximumTokens
  ) {
    throw new InvalidArgumentError({ argument: `${name}.minimumTokens`, message: 'is larger than maximumTokens' });
  }
}

/** Cuts `entry` down to at most `target` tokens, in place. */
function cut(entry: WorkingSection, target: number, tokenizer: Tokenizer): void {
  const fromEnd = entry.section.keep === 'end';
  const text =
    entry.section.kind === 'code'
      ? cutAtLines(entry.text, target, tokenizer, fromEnd)
      : cutAtTokens(entry.text, target, tokenizer, fromEnd);
  entry.text = text;
  entry.tokens = text.length === 0 ? 0 : tokenizer.countTokens(text);
  entry.truncated = true;
}

/** The longest run of whole lines from one end whose tokens fit `target` (binary search). */
function cutAtLines(text: string, target: number, tokenizer: Tokenizer, fromEnd: boolean): string {
  const lines = splitLinesKeepingEndings(text);
  const take = (count: number): string =>
    (fromEnd ? lines.slice(lines.length - count) : lines.slice(0, count)).join('');
  let low = 0;
  let high = lines.length;
  while (low < high) {
    const middle = (low + high + 1) >>> 1;
    if (tokenizer.countTokens(take(middle)) <= target) low = middle;
    else high = middle - 1;
  }
  return take(low);
}

/**
 * The first (or last) `target` tokens, decoded. A token boundary may fall inside a character; such
 * partial characters are left out, and the result is re-counted until it fits.
 */
function cutAtTokens(text: string, target: number, tokenizer: Tokenizer, fromEnd: boolean): string {
  const tokens = tokenizer.encode(text);
  let count = Math.min(target, tokens.length);
  while (count > 0) {
    const slice = fromEnd ? tokens.slice(tokens.length - count) : tokens.slice(0, count);
    const candidate = trimPartialCharacters(tokenizer.decode(slice), text, fromEnd);
    if (tokenizer.countTokens(candidate) <= target) return candidate;
    count -= 1;
  }
  return '';
}

// A decoded prefix ends (a suffix starts) with U+FFFD where a token boundary split a character.
function trimPartialCharacters(candidate: string, original: string, fromEnd: boolean): string {
  let result = candidate;
  if (fromEnd) {
    while (result.length > 0 && result[0] === '\uFFFD' && !original.endsWith(result)) result = result.slice(1);
  } else {
    while (result.length > 0 && result.endsWith('\uFFFD') && !original.startsWith(result)) result = result.slice(0, -1);
  }
  return result;
}
