import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tokenizer } from '@codestack/core';
import { buildCodeCompletionPrompt } from '@codestack/orchestrator';
import { parseCompletionCases } from '@codestack/orchestrator/evaluation';
import { loadLocalModel, type LoadedLocalModel } from '@codestack/orchestrator/local';
import { createDocsIndexRetriever } from '@codestack/orchestrator/retrieval';
import { DocsIndex, loadTypeScriptDocs } from '@codestack/retrieval';
import { createRuntime, softmax, type LlamaModel } from '@codestack/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readApiCompletionFile } from './api-completion-sets.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const modelBase = join(packageRoot, '..', 'model-base');

/** Summed log-probability of `expected`'s tokens after `prompt` (one forward pass). */
async function expectedLogProbability(model: LlamaModel, tokenizer: Tokenizer, prompt: string, expected: string): Promise<number> {
  const promptIds = tokenizer.encode(prompt);
  const ids = tokenizer.encode(prompt + expected);
  const logits = model.logits([ids]);
  const values = (await logits.data()) as Float32Array;
  logits.dispose();
  const vocabulary = model.config.vocabularySize;
  let total = 0;
  for (let position = promptIds.length - 1; position + 1 < ids.length; position++) {
    total += Math.log(softmax(values.slice(position * vocabulary, (position + 1) * vocabulary))[ids[position + 1]!]!);
  }
  return total;
}

describe('the docs-conditioned adapter (adapters/node-docs of @codestack/model-base)', () => {
  let adapted: LoadedLocalModel;
  beforeAll(async () => {
    adapted = await loadLocalModel(join(modelBase, 'model'), { runtime: await createRuntime(), adapter: join(modelBase, 'adapters', 'node-docs') });
  });
  afterAll(() => adapted?.dispose());

  it('gives the expected member more probability with the docs retrieved for the code than with another case’s docs', async () => {
    const retriever = createDocsIndexRetriever(await DocsIndex.build(await loadTypeScriptDocs('@types/node', { from: packageRoot })));
    const cases = parseCompletionCases(await readApiCompletionFile(join(packageRoot, 'data', 'api-completion'), 'validation'));
    // Validation cases whose retrieved docs name the member: where reading the docs can help.
    const named: { code: string; documents: string; expected: string; identifier: string }[] = [];
    for (const testCase of cases) {
      if (named.length === 6) break;
      const { prompt, documents } = await buildCodeCompletionPrompt({ prefix: testCase.prefix, tokenizer: adapted.tokenizer, maximumPromptTokens: 224, retriever });
      if (new RegExp(`\\b${testCase.identifier}\\b`).test(documents)) named.push({ code: prompt.slice(documents.length), documents, expected: testCase.expected, identifier: testCase.identifier! });
    }
    expect(named.length).toBeGreaterThanOrEqual(4);
    const tensors = adapted.runtime.tf.memory().numTensors;
    let right = 0;
    let shuffled = 0;
    for (const [index, entry] of named.entries()) {
      // The docs of another case that do not name this member.
      const other = named.slice(index + 1).concat(named.slice(0, index)).find((candidate) => !new RegExp(`\\b${entry.identifier}\\b`).test(candidate.documents))!;
      right += await expectedLogProbability(adapted.model, adapted.tokenizer, entry.documents + entry.code, entry.expected);
      shuffled += await expectedLogProbability(adapted.model, adapted.tokenizer, other.documents + entry.code, entry.expected);
    }
    expect(right).toBeGreaterThan(shuffled);
    expect(adapted.runtime.tf.memory().numTensors).toBe(tensors);
  }, 600_000);
});
