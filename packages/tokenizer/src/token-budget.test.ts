import { CodestackError, InvalidArgumentError } from '@codestack/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getTokenizer } from './openai-tokenizer.js';
import { type BudgetSection, fitBudget } from './token-budget.js';

const tokenizer = getTokenizer('cl100k_base');

const sectionArbitrary = fc.record({
  id: fc.string({ minLength: 1, maxLength: 6 }),
  text: fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 200 }),
    fc.array(fc.string({ maxLength: 30 }), { maxLength: 12 }).map((lines) => lines.join('\n')),
  ),
  priority: fc.integer({ min: 0, max: 5 }),
  minimumTokens: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
  maximumTokens: fc.option(fc.integer({ min: 40, max: 120 }), { nil: undefined }),
  kind: fc.constantFrom<'text' | 'code' | undefined>('text', 'code', undefined),
  keep: fc.constantFrom<'start' | 'end' | undefined>('start', 'end', undefined),
});

describe('fitBudget', () => {
  it('never exceeds the budget and honours priorities, minimums and maximums (property)', () => {
    fc.assert(
      fc.property(
        fc.array(sectionArbitrary, { maxLength: 6 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 50 }),
        (drafts, budget, reserved) => {
          const sections = drafts.map((draft, index) => ({ ...draft, id: `section${index}` }));
          const reservedTokens = Math.min(reserved, budget);
          const fit = fitBudget({ budget, reservedTokens, sections, tokenizer });
          const used = fit.sections.reduce((sum, section) => sum + section.tokens, 0);
          expect(used).toBe(fit.usedTokens);
          expect(used).toBeLessThanOrEqual(budget - reservedTokens);
          expect(fit.sections.length + fit.dropped.length).toBe(sections.length);
          // What each section gets when the budget does not bind (only its maximum applies).
          const unbounded = fitBudget({ budget: 1_000_000, sections, tokenizer });
          const cappedTokens = new Map(unbounded.sections.map((section) => [section.id, section.tokens]));
          // A dropped section counts as squeezed only if it could have been kept alone in this
          // budget: one that cannot fit at all (say, a code point wider than the whole budget) leaves
          // the room to lower priorities.
          const fitsAlone = (section: BudgetSection): boolean =>
            fitBudget({ budget, reservedTokens, sections: [section], tokenizer }).sections.length === 1;
          const squeezed = new Set(fit.dropped.filter((dropped) => fitsAlone(sections.find((section) => section.id === dropped.id) as BudgetSection)).map((section) => section.id));
          for (const kept of fit.sections) {
            const section = sections.find((candidate) => candidate.id === kept.id) as BudgetSection;
            expect(tokenizer.countTokens(kept.text)).toBe(kept.tokens);
            if (section.maximumTokens !== undefined) expect(kept.tokens).toBeLessThanOrEqual(section.maximumTokens);
            if (kept.truncated) expect(kept.tokens).toBeGreaterThanOrEqual(section.minimumTokens ?? 1);
            else expect(kept.text).toBe(section.text);
            if (kept.tokens < (cappedTokens.get(kept.id) ?? 0)) squeezed.add(kept.id);
          }
          // Whenever a section lost tokens to the budget, every section of lower priority that had
          // anything to give was dropped entirely.
          for (const id of squeezed) {
            const priority = (sections.find((section) => section.id === id) as BudgetSection).priority;
            for (const other of sections) {
              if (other.priority < priority && (cappedTokens.get(other.id) ?? 0) > 0) {
                expect(fit.dropped.map((section) => section.id)).toContain(other.id);
              }
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('gives the room of a higher-priority section that cannot fit at all to lower priorities (found by the property test, seed 339759189)', () => {
    const sections: BudgetSection[] = [
      { id: 'section0', text: ' ', priority: 0 },
      { id: 'section1', text: '!𝅘𝅥𝅮⠂𐀀᠂𐀀!྅𝅘𝅥𝅮𐀀', priority: 1, maximumTokens: 40, kind: 'code', keep: 'start' },
    ];
    const fit = fitBudget({ budget: 1, reservedTokens: 0, sections, tokenizer });
    expect(fit.sections.map((section) => section.id)).toEqual(['section0']);
    expect(fit.dropped.map((section) => section.id)).toEqual(['section1']);
  });

  it('drops or truncates the lowest priority first', () => {
    const text = (words: number): string => Array.from({ length: words }, (_, index) => `word${index}`).join(' ');
    const sections: BudgetSection[] = [
      { id: 'system', text: text(20), priority: 10 },
      { id: 'docs', text: text(200), priority: 1 },
      { id: 'history', text: text(100), priority: 3, keep: 'end' },
      { id: 'instruction', text: text(10), priority: 10 },
    ];
    const counts = sections.map((section) => tokenizer.countTokens(section.text));
    const [system, docs, history, instruction] = counts as [number, number, number, number];

    const roomy = fitBudget({ budget: system + docs + history + instruction, sections, tokenizer });
    expect(roomy.dropped).toEqual([]);
    expect(roomy.truncated).toEqual([]);

    // Short by 10 tokens: only docs is truncated, by about that much.
    const tight = fitBudget({ budget: system + docs + history + instruction - 10, sections, tokenizer });
    expect(tight.truncated).toEqual(['docs']);
    expect(tight.dropped).toEqual([]);
    const fittedDocs = tight.sections.find((section) => section.id === 'docs');
    expect(fittedDocs?.tokens).toBeGreaterThanOrEqual(docs - 12);
    expect(sections[1]?.text.startsWith(fittedDocs?.text ?? '')).toBe(true);

    // No room for docs at all: docs is dropped, then history keeps its end.
    const small = fitBudget({ budget: system + instruction + 20, reservedTokens: 0, sections, tokenizer });
    expect(small.dropped.map((section) => section.id)).toEqual(['docs']);
    expect(small.dropped[0]?.reason).toBe('budget');
    const fittedHistory = small.sections.find((section) => section.id === 'history');
    expect(fittedHistory?.truncated).toBe(true);
    expect(sections[2]?.text.endsWith(fittedHistory?.text ?? '')).toBe(true);
    expect(small.sections.map((section) => section.id)).toEqual(['system', 'history', 'instruction']);
    expect(small.usedTokens).toBeLessThanOrEqual(system + instruction + 20);
  });

  it('drops a section whose minimum cannot be met, and cuts code at line boundaries', () => {
    const code = Array.from({ length: 30 }, (_, index) => `const value${index} = compute(${index});`).join('\n');
    const docs = 'alpha beta gamma delta '.repeat(20);
    const codeTokens = tokenizer.countTokens(code);
    const docsTokens = tokenizer.countTokens(docs);
    const sections: BudgetSection[] = [
      { id: 'code', text: code, priority: 2, kind: 'code' },
      { id: 'docs', text: docs, priority: 1, minimumTokens: docsTokens - 5 },
    ];
    // Ten tokens short: docs could be cut by ten, but that would go below its minimum.
    const short = fitBudget({ budget: codeTokens + docsTokens - 10, sections, tokenizer });
    expect(short.dropped).toEqual([{ id: 'docs', originalTokens: docsTokens, reason: 'minimum-not-met' }]);
    expect(short.sections.map((section) => [section.id, section.truncated])).toEqual([['code', false]]);

    const fit = fitBudget({ budget: 140, sections, tokenizer });
    expect(fit.dropped.map((section) => section.id)).toEqual(['docs']);
    const keptCode = fit.sections[0];
    expect(keptCode?.truncated).toBe(true);
    expect(keptCode?.tokens).toBeLessThanOrEqual(140);
    expect(keptCode?.tokens).toBeGreaterThan(100);
    // Whole lines only.
    expect(code.startsWith(keptCode?.text ?? '')).toBe(true);
    expect(keptCode?.text.endsWith('\n')).toBe(true);
  });

  it('applies maximumTokens even when the budget is ample', () => {
    const fit = fitBudget({
      budget: 10_000,
      sections: [{ id: 'docs', text: 'one two three four five six seven eight nine ten', priority: 1, maximumTokens: 4 }],
      tokenizer,
    });
    expect(fit.sections[0]?.tokens).toBeLessThanOrEqual(4);
    expect(fit.sections[0]?.text).toBe('one two three four');
  });

  it('does not split a character when a token boundary falls inside it', () => {
    const fit = fitBudget({ budget: 3, sections: [{ id: 'emoji', text: '🙂🙂🙂🙂', priority: 1 }], tokenizer });
    const kept = fit.sections[0]?.text ?? '';
    expect(kept).not.toContain('\uFFFD');
    expect('🙂🙂🙂🙂'.startsWith(kept)).toBe(true);
    expect(fit.usedTokens).toBeLessThanOrEqual(3);
  });

  it('refuses a negative budget and malformed sections with INVALID_ARGUMENT', () => {
    const attempt = (options: Partial<Parameters<typeof fitBudget>[0]>) => () =>
      fitBudget({ budget: 10, sections: [], tokenizer, ...options });
    expect(attempt({ budget: -1 })).toThrow(InvalidArgumentError);
    expect(attempt({ tokenizer: {} as never })).toThrow(InvalidArgumentError);
    expect(attempt({ budget: 2.5 })).toThrow(InvalidArgumentError);
    expect(attempt({ reservedTokens: 11 })).toThrow(InvalidArgumentError);
    expect(attempt({ sections: [{ id: 'a', text: 5 as unknown as string, priority: 1 }] })).toThrow(InvalidArgumentError);
    expect(attempt({ sections: [{ id: 'a', text: 'x', priority: Number.NaN }] })).toThrow(InvalidArgumentError);
    expect(attempt({ sections: [{ id: 'a', text: 'x', priority: 1, minimumTokens: 5, maximumTokens: 2 }] })).toThrow(
      InvalidArgumentError,
    );
    try {
      attempt({ budget: -1 })();
    } catch (error) {
      expect(CodestackError.isInstance(error)).toBe(true);
      expect((error as CodestackError).code).toBe('INVALID_ARGUMENT');
    }
  });
});
