import type { Retriever } from '@codestack/core';
import { describe, expect, it } from 'vitest';
import type { PromptTask } from './prompt-tasks.js';
import { sweepRelevanceThreshold } from './relevance-threshold-sweep.js';

// A retriever with fixed relevances per task: the rule is what is under test, not the index.
const relevances: Record<string, { name: string; relevance: number }[]> = {
  'api one': [{ name: 'fs.readFileSync', relevance: 1.2 }, { name: 'fs.readSync', relevance: 0.7 }],
  'api two': [{ name: 'os.cpus', relevance: 0.95 }],
  'plain one': [{ name: 'http.ServerResponse.writeHead', relevance: 0.85 }],
  'plain two': [{ name: 'test.MockFunctionContext.callCount', relevance: 0.6 }],
  'plain three': [{ name: 'crypto.checkPrime', relevance: 1.05 }],
};
const retriever: Retriever = {
  retrieve: async (query, { topK }) => (relevances[query] ?? []).slice(0, topK).map(({ name, relevance }) => ({ id: `@types/node:${name}`, name, relevance, text: name, score: relevance })),
};
// Right at t: api one while t ≤ 1.2, api two while t ≤ 0.95, plain one once t > 0.85, plain three once t > 1.05.
const twoRuns: PromptTask[] = [
  { task: 'api one', apis: ['fs.readFileSync'] },
  { task: 'api two', apis: ['os.cpus'] },
  { task: 'plain one', apis: [] },
  { task: 'plain three', apis: [] },
];
const tasks: PromptTask[] = [
  { task: 'api one', apis: ['fs.readFileSync'] },
  { task: 'api two', apis: ['os.cpus'] },
  { task: 'plain one', apis: [] },
  { task: 'plain two', apis: [] },
];

describe('sweepRelevanceThreshold', () => {
  it('takes the middle of the widest run of thresholds with the most right validation tasks, and reports test there', async () => {
    // Right: 0.8 → 3 (plain one keeps writeHead), 0.9 / 0.95 → 4, 1.0 → 3 (os.cpus dropped).
    const sweep = await sweepRelevanceThreshold({ retriever, validation: tasks, test: tasks.slice(0, 2), thresholds: [0.8, 0.875, 0.9, 0.95, 1, 1.1] });
    expect(sweep.validation.map((score) => score.right)).toEqual([3, 4, 4, 4, 3, 3]);
    expect(sweep.plateau).toEqual({ from: 0.875, to: 0.95 });
    expect(sweep.chosen).toBe(0.9);
    expect(sweep.test).toEqual({ threshold: 0.9, right: 2, apiRight: 2, plainRight: 0, tasks: 2 });
  });

  it('prefers the widest of two tied runs (the lower of equally wide ones), and the lower middle of an even run', async () => {
    const sweep = await sweepRelevanceThreshold({ retriever, validation: twoRuns, test: twoRuns, thresholds: [0.9, 0.95, 1, 1.1, 1.15, 1.2, 1.3] });
    expect(sweep.validation.map((score) => score.right)).toEqual([3, 3, 2, 3, 3, 3, 2]);
    expect(sweep.plateau).toEqual({ from: 1.1, to: 1.2 });
    expect(sweep.chosen).toBe(1.15);
    const even = await sweepRelevanceThreshold({ retriever, validation: twoRuns, test: twoRuns, thresholds: [0.9, 0.95, 1, 1.1, 1.2, 1.3] });
    expect(even.plateau).toEqual({ from: 0.9, to: 0.95 });
    expect(even.chosen).toBe(0.9);
  });

  it('refuses thresholds that are not increasing', async () => {
    await expect(sweepRelevanceThreshold({ retriever, validation: tasks, test: tasks, thresholds: [0.9, 0.8] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
