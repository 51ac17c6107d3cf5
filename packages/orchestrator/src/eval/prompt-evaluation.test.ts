import { fileURLToPath } from 'node:url';
import { getTokenizer } from '@codestack/tokenizer';
import type { Retriever } from '@codestack/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createNodeTypesRetriever } from '../__fixtures__/scripted-openai-server.js';
import { defaultRelevanceThreshold } from '../prompt/compact-documents.js';
import { evaluatePrompt } from './prompt-evaluation.js';
import { sweepRelevanceThreshold } from './relevance-threshold-sweep.js';

const projectDirectory = fileURLToPath(new URL('../..', import.meta.url));
let retriever: Retriever;

beforeAll(async () => {
  retriever = await createNodeTypesRetriever(projectDirectory);
}, 180_000);

describe('evaluatePrompt over a real @types/node index', () => {
  it('chooses the relevance threshold on validation by its stated rule, and the default is that choice', async () => {
    const sweep = await sweepRelevanceThreshold({ retriever });
    const best = Math.max(...sweep.validation.map((score) => score.right));
    const onPlateau = sweep.validation.filter((score) => score.threshold >= sweep.plateau.from && score.threshold <= sweep.plateau.to);
    expect(onPlateau.every((score) => score.right === best)).toBe(true);
    expect(sweep.chosen).toBeGreaterThanOrEqual(sweep.plateau.from);
    expect(sweep.chosen).toBeLessThanOrEqual(sweep.plateau.to);
    // If this fails, the index or the relevance changed: set defaultRelevanceThreshold to the new choice.
    expect(sweep.chosen).toBe(defaultRelevanceThreshold);
    expect(sweep.test.threshold).toBe(sweep.chosen);
    expect(sweep.test.tasks).toBe(20);
    expect(sweep.test.right).toBeGreaterThanOrEqual(best - 2);
  }, 300_000);

  it('scores the prompt before and after the gate and compact documents, and the repair lookup', async () => {
    const report = await evaluatePrompt({ retriever, tokenizer: getTokenizer('cl100k_base'), projectDirectory });
    if (process.env.PROMPT_EVAL_PRINT) console.log(JSON.stringify(report, null, 1));
    expect(report.tasks).toBe(20);
    expect(report.after.precision).toBeGreaterThan(report.before.precision);
    expect(report.after.meanDocumentTokens).toBeLessThan(report.before.meanDocumentTokens);
    expect(report.after.emptyWhenPlain).toBeGreaterThan(report.before.emptyWhenPlain);
    expect(report.repair.answers).toBeGreaterThanOrEqual(10);
    expect(report.repair.reachedMarked).toBeGreaterThanOrEqual(Math.ceil(report.repair.answers * 0.8));
    expect(report.repair.reachedFromText).toBe(report.repair.reachedMarked);
    // randomUUID asked of node:util: the module-level crypto.randomUUID, not the Web Crypto method ranked above it.
    const uuid = report.repair.outcomes.find((outcome) => outcome.api === 'crypto.randomUUID')!;
    expect(uuid.inserted).toEqual(['@types/node:crypto.randomUUID']);
    expect(uuid.reachedMarked).toBe(true);
  }, 300_000);
});
