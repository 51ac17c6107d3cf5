import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCompletionCases } from '@codestack/orchestrator/evaluation';
import { buildContinuousCache, ExactTokenDatastore, loadLocalModel, type LoadedLocalModel } from '@codestack/orchestrator/local';
import { createRuntime } from '@codestack/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreApiCompletion } from './api-completion-evaluation.js';
import { readApiCompletionFile } from './api-completion-sets.js';
import { sweepScore, type ForcedCases } from './knn-sweep.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

describe('sweepScore', () => {
  // Two cases of one expected token (7, then a token that ends the identifier) over a 10-token vocabulary.
  const model = Float64Array.from([0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.4, 0.3, 0.05, 0.05]);
  const forced = (cacheToken: number): ForcedCases => ({
    steps: [0, 1].map(() => [
      { model, expected: 7, datastore: [], cache: [{ token: cacheToken, distance: 0 }, { token: cacheToken, distance: 1 }] },
      { model: Float64Array.from([0.9, 0.02, 0.02, 0.02, 0.02, 0.02, 0, 0, 0, 0]), expected: -1, datastore: [], cache: [] },
    ]),
    unreachable: 0,
    continuesIdentifier: Uint8Array.from([0, 0, 0, 0, 0, 0, 1, 1, 1, 1]),
  });

  it('replays greedy decoding: the cache turns a miss into an exact answer only when its values point at the expected token', () => {
    expect(sweepScore(forced(7), {}).exact).toBe(0);
    expect(sweepScore(forced(7), { cache: { lambda: 0.5, k: 2, temperature: 1 } }).exact).toBe(2);
    expect(sweepScore(forced(3), { cache: { lambda: 0.5, k: 2, temperature: 1 } }).exact).toBe(0);
    // A small λ cannot overturn the model's choice.
    expect(sweepScore(forced(7), { cache: { lambda: 0.05, k: 2, temperature: 1 } }).exact).toBe(0);
  });

  it('counts a completion that runs on into a longer identifier as a miss', () => {
    const runsOn = forced(7);
    for (const caseSteps of runsOn.steps) caseSteps[1]!.model = Float64Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0.9, 0.1]);
    expect(sweepScore(runsOn, { cache: { lambda: 0.5, k: 2, temperature: 1 } }).exact).toBe(0);
  });

  it('counts an expected text longer than the output budget as a miss, and one that fills it exactly as a hit', () => {
    expect(sweepScore(forced(7), { cache: { lambda: 0.5, k: 2, temperature: 1 } }, 1).exact).toBe(2);
    const runsOn = forced(7);
    for (const caseSteps of runsOn.steps) caseSteps[1]!.model = Float64Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0.9, 0.1]);
    expect(sweepScore(runsOn, { cache: { lambda: 0.5, k: 2, temperature: 1 } }, 1).exact).toBe(2);
    const longer = forced(7);
    for (const caseSteps of longer.steps) caseSteps.unshift({ ...caseSteps[0]! });
    expect(sweepScore(longer, { cache: { lambda: 0.5, k: 2, temperature: 1 } }, 1).exact).toBe(0);
    expect(sweepScore(longer, { cache: { lambda: 0.5, k: 2, temperature: 1 } }, 2).exact).toBe(2);
  });
});

describe('the continuous cache on the bundled model (validation cases)', () => {
  let loaded: LoadedLocalModel;
  beforeAll(async () => {
    const runtime = await createRuntime();
    loaded = await loadLocalModel(join(packageRoot, '..', 'model-base', 'model'), { runtime });
  });
  afterAll(() => loaded?.dispose());

  it('answers more members exactly from the real cache than from the same cache with its values shuffled, and leaks no tensor', async () => {
    const cases = parseCompletionCases(await readApiCompletionFile(join(packageRoot, 'data', 'api-completion'), 'validation')).slice(10, 24);
    const tensors = loaded.runtime.tf.memory().numTensors;
    const settings = { lambda: 0.5, k: 16, temperature: 3 };
    let real = 0;
    let shuffled = 0;
    for (const testCase of cases) {
      const cache = await buildContinuousCache({ model: loaded.model, tokenizer: loaded.tokenizer, textBeforeCursor: testCase.prefix });
      // A fixed derangement of the stored next tokens: same keys, wrong values.
      const values = Int32Array.from(cache.values, (_, index) => cache.values[(index * 7919 + 13) % cache.values.length]!);
      const control = new ExactTokenDatastore(cache.dimension, cache.keys, values);
      const score = async (datastore: ExactTokenDatastore): Promise<number> =>
        (await scoreApiCompletion({ model: loaded.model, tokenizer: loaded.tokenizer, cases: [testCase], datastore: { datastore, settings } })).exact;
      real += await score(cache);
      shuffled += await score(control);
    }
    expect(real).toBeGreaterThan(shuffled);
    expect(real).toBeGreaterThanOrEqual(2);
    expect(loaded.runtime.tf.memory().numTensors).toBe(tensors);
  }, 900_000);
});
