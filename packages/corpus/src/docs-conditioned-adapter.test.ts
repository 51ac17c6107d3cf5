import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RetrievedDocument, Retriever } from '@codestack/core';
import { buildCodeCompletionPrompt } from '@codestack/orchestrator';
import { createDocsIndexRetriever } from '@codestack/orchestrator/retrieval';
import { DocsIndex, loadTypeScriptDocs } from '@codestack/retrieval';
import { loadCompactVocabulary } from '@codestack/tokenizer';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CorpusDocument } from './collect-corpus.js';
import { buildDocsConditionedExamples } from './docs-conditioned-adapter.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

const source = [
  "const fs = require('fs');",
  "const path = require('path');",
  '',
  'function readConfig(directory) {',
  "  const file = path.join(directory, 'config.json');",
  '  if (!fs.existsSync(file)) return {};',
  "  return JSON.parse(fs.readFileSync(file, 'utf8'));",
  '}',
  '',
  'module.exports = { readConfig };',
].join('\n');
const documents: CorpusDocument[] = [{ package: 'example', path: 'read-config.js', text: source }];

describe('buildDocsConditionedExamples', () => {
  let retriever: Retriever;
  beforeAll(async () => {
    retriever = createDocsIndexRetriever(await DocsIndex.build(await loadTypeScriptDocs('@types/node', { from: packageRoot })));
  }, 300_000);

  it('puts the docs the completion prompt retrieves in front of the code, learns only the code, and gives the control the same code', async () => {
    const tokenizer = await loadCompactVocabulary(join(packageRoot, '..', 'model-base', 'model', 'vocabulary.json'));
    const examples = await buildDocsConditionedExamples({ tokenizer, documents, retriever });
    // path.join, fs.existsSync, fs.readFileSync
    expect(examples).toHaveLength(3);
    for (const example of examples) {
      const docs = tokenizer.decode(example.conditioned.prompt);
      const code = tokenizer.decode(example.conditioned.completion);
      expect(docs.startsWith('// ')).toBe(true);
      expect(code).toMatch(/^[\s\S]*?(fs|path)\.[A-Za-z]+/);
      // The control learns exactly the same code tokens, without any docs before them.
      expect([...example.control.prompt, ...example.control.completion]).toEqual(example.conditioned.completion);
    }
    const first = examples.find((example) => {
      const code = tokenizer.decode(example.conditioned.completion);
      return code.includes('fs.existsSync') && !code.includes('readFileSync');
    })!;
    const prefix = source.slice(0, source.indexOf('fs.existsSync') + 'fs'.length);
    const { documents: rendered } = await buildCodeCompletionPrompt({ prefix, tokenizer, maximumPromptTokens: 224, retriever });
    expect(rendered.length).toBeGreaterThan(0);
    // The docs part is exactly what buildCodeCompletionPrompt renders for the code before the cursor.
    expect(tokenizer.decode(first.conditioned.prompt).startsWith(rendered)).toBe(true);
  }, 300_000);

  it('changes with the docs it is given and makes no example without docs (the docs path cannot be bypassed)', async () => {
    const tokenizer = await loadCompactVocabulary(join(packageRoot, '..', 'model-base', 'model', 'vocabulary.json'));
    const right = await buildDocsConditionedExamples({ tokenizer, documents, retriever });
    // The same retriever asked about something else: other docs for the same code.
    const shuffled: Retriever = { retrieve: (_query, options) => retriever.retrieve('zlib gzip deflate stream compression', options) };
    const wrong = await buildDocsConditionedExamples({ tokenizer, documents, retriever: shuffled });
    expect(wrong).toHaveLength(right.length);
    wrong.forEach((example, index) => {
      expect(example.conditioned.prompt).not.toEqual(right[index]!.conditioned.prompt);
    });
    const silent: Retriever = { retrieve: async (): Promise<RetrievedDocument[]> => [] };
    expect(await buildDocsConditionedExamples({ tokenizer, documents, retriever: silent })).toEqual([]);
  }, 300_000);
});
