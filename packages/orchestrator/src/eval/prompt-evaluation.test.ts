import { fileURLToPath } from 'node:url';
import { getTokenizer } from '@codestack/tokenizer';
import { describe, expect, it } from 'vitest';
import { createNodeTypesRetriever } from '../__fixtures__/scripted-openai-server.js';
import { evaluatePrompt } from './prompt-evaluation.js';

const projectDirectory = fileURLToPath(new URL('../..', import.meta.url));

describe('evaluatePrompt over a real @types/node index', () => {
  it('scores the prompt before and after the gate and compact documents, and the repair lookup', async () => {
    const retriever = await createNodeTypesRetriever(projectDirectory);
    const report = await evaluatePrompt({ retriever, tokenizer: getTokenizer('cl100k_base'), projectDirectory });
    if (process.env.PROMPT_EVAL_PRINT) console.log(JSON.stringify(report, null, 1));
    expect(report.tasks).toBe(20);
    expect(report.after.precision).toBeGreaterThan(report.before.precision);
    expect(report.after.meanDocumentTokens).toBeLessThan(report.before.meanDocumentTokens);
    expect(report.after.emptyWhenPlain).toBeGreaterThan(report.before.emptyWhenPlain);
    expect(report.repair.answers).toBeGreaterThanOrEqual(10);
    expect(report.repair.reachedMarked).toBeGreaterThanOrEqual(Math.ceil(report.repair.answers * 0.8));
    expect(report.repair.reachedFromText).toBe(report.repair.reachedMarked);
  }, 300_000);
});
