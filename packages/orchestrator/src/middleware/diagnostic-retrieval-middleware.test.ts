import { fileURLToPath } from 'node:url';
import { getTokenizer } from '@codestack/tokenizer';
import type { Retriever } from '@codestack/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeTypesRetriever, startScriptedOpenAIServer, type ScriptedOpenAIServer } from '../__fixtures__/scripted-openai-server.js';
import { generateCode, repairFeedback } from '../generate-code/generate-code.js';
import { generateText } from '../models/generate-text.js';
import { OpenAICompatibleModel } from '../models/openai-compatible-model.js';
import { wrapLanguageModel } from '../models/wrap-language-model.js';
import { defaultSettingsMiddleware } from './default-settings-middleware.js';
import { diagnosticRetrievalMiddleware, parseDiagnostics, type DiagnosticRetrievalRecord } from './diagnostic-retrieval-middleware.js';
import { retrievalAugmentationMiddleware } from './retrieval-augmentation-middleware.js';

// A real DocsIndex over all of @types/node (built once for this file), and a scripted
// OpenAI-compatible server over real HTTP that records every request body.
const projectDirectory = fileURLToPath(new URL('../..', import.meta.url));
const tokenizer = getTokenizer('cl100k_base');
let retriever: Retriever;
let server: ScriptedOpenAIServer;

beforeAll(async () => {
  retriever = await createNodeTypesRetriever(projectDirectory);
  server = await startScriptedOpenAIServer();
}, 180_000);

afterAll(() => server.close());

const broken = "```ts\nimport fs from 'node:fs';\nexport function lineCount(path: string): number {\n  return fs.readFileSyncc(path, 'utf8').split('\\n').length;\n}\n```";
const fixed = "```ts\nimport fs from 'node:fs';\nexport function lineCount(path: string): number {\n  return fs.readFileSync(path, 'utf8').split('\\n').length;\n}\n```";
const signature = /\[@types\/node:fs\.readFileSync\]\n\/\/ fs\.readFileSync \(function[^\n]*\n(?:export )?(?:declare )?function readFileSync\(\s*path: PathOrFileDescriptor/;

function stack(records: DiagnosticRetrievalRecord[]) {
  return wrapLanguageModel({
    model: new OpenAICompatibleModel({ baseURL: server.baseURL, modelId: 'scripted-test-double' }),
    middleware: [
      defaultSettingsMiddleware({ settings: { seed: 7 } }),
      diagnosticRetrievalMiddleware({ retriever, tokenizer, onRetrieval: (record) => records.push(record) }),
      retrievalAugmentationMiddleware({ retriever, tokenizer, maximumDocumentTokens: 512, topK: 2 }),
    ],
  });
}

describe('diagnosticRetrievalMiddleware over HTTP with a real @types/node index', () => {
  it("composes with retrieval augmentation and default settings: generateCode's repair round gets the misspelt member's real signature", async () => {
    server.answerWith([broken, fixed]);
    const records: DiagnosticRetrievalRecord[] = [];
    // No retriever of generateCode's own: the middleware stack does all the retrieval.
    const run = generateCode({
      model: stack(records),
      tokenizer,
      contextTokens: 8192,
      task: 'Write a TypeScript function lineCount(path: string): number that counts the lines of a text file.',
      validation: { projectDirectory, codeFile: 'line-count.ts' },
    });
    const result = await run.result;
    expect(result.ok).toBe(true);
    expect(server.requests).toHaveLength(2);
    expect(server.requests.every((request) => request.seed === 7)).toBe(true);
    // First call: retrieval augmentation's documents, no repair documents.
    expect(server.requests[0]!.messages[0]!.content).toContain('Reference documents');
    expect(server.requests[0]!.messages.map((message) => message.content).join('\n')).not.toContain('The real signatures');
    expect(server.requests[1]!.messages[0]!.content).toContain('Reference documents');
    // Repair call: the signature sits just before the repair message.
    const repair = server.requests[1]!.messages;
    const last = repair[repair.length - 1]!;
    expect(last.role).toBe('user');
    expect(last.content).toContain("Property 'readFileSyncc' does not exist");
    const inserted = repair[repair.length - 2]!;
    expect(inserted.role).toBe('system');
    expect(inserted.content).toContain('The real signatures of the APIs the compiler named');
    expect(inserted.content).toMatch(signature);
    expect(records).toEqual([{ queries: ['fs.readFileSync'], used: [{ id: '@types/node:fs.readFileSync', tokens: expect.any(Number) }], skipped: [] }]);
  }, 60_000);

  it("recognises a repair from the conversation's text alone, and does not repeat what generateCode already sent", async () => {
    const records: DiagnosticRetrievalRecord[] = [];
    const feedback = repairFeedback({ ok: false, diagnostics: [{ code: 2551, category: 'error', message: `Property 'readFileSyncc' does not exist on type 'typeof import("fs")'. Did you mean 'readFileSync'?`, file: 'line-count.ts', line: 3, column: 13 }] });
    expect(parseDiagnostics(feedback)).toHaveLength(1);
    server.answerWith(['']);
    await generateText({ model: stack(records), prompt: [{ role: 'user', content: 'Count the lines of a file.' }, { role: 'assistant', content: broken }, { role: 'user', content: feedback }] });
    expect(server.requests[0]!.messages.map((message) => message.content).join('\n')).toMatch(signature);
    expect(records[0]!.used.map((document) => document.id)).toEqual(['@types/node:fs.readFileSync']);

    // generateCode with its own retriever already puts the signature in: the middleware skips it.
    records.length = 0;
    server.answerWith([broken, fixed]);
    const run = generateCode({
      model: stack(records),
      tokenizer,
      retriever,
      contextTokens: 8192,
      task: 'Write a TypeScript function lineCount(path: string): number that counts the lines of a text file.',
      validation: { projectDirectory, codeFile: 'line-count.ts' },
    });
    await run.result;
    expect(records).toEqual([{ queries: ['fs.readFileSync'], used: [], skipped: [{ id: '@types/node:fs.readFileSync', reason: 'in prompt' }] }]);
    expect(server.requests[1]!.messages.map((message) => message.content).join('\n')).not.toContain('The real signatures');
    expect(server.requests[1]!.messages.map((message) => message.content).join('\n')).toMatch(signature);
  }, 60_000);

  it('searches the index once per query in a repair round when generateCode and the middleware share a retriever; a middleware over another retriever looks up for itself', async () => {
    const task = 'Write a TypeScript function lineCount(path: string): number that counts the lines of a text file.';
    const counting = (queries: string[]): Retriever => ({
      retrieve: (query, options) => {
        queries.push(query);
        return retriever.retrieve(query, options);
      },
    });
    const run = async (shared: Retriever, ofMiddleware: Retriever, records: DiagnosticRetrievalRecord[]) => {
      server.answerWith([broken, fixed]);
      const model = wrapLanguageModel({
        model: new OpenAICompatibleModel({ baseURL: server.baseURL, modelId: 'scripted-test-double' }),
        middleware: diagnosticRetrievalMiddleware({ retriever: ofMiddleware, tokenizer, onRetrieval: (record) => records.push(record) }),
      });
      const result = await generateCode({ model, tokenizer, retriever: shared, contextTokens: 8192, task, validation: { projectDirectory, codeFile: 'line-count.ts' } }).result;
      expect(result.ok).toBe(true);
      return server.requests[1]!.messages.map((message) => message.content).join('\n');
    };

    const searched: string[] = [];
    const shared = counting(searched);
    const sameRecords: DiagnosticRetrievalRecord[] = [];
    const repairPrompt = await run(shared, shared, sameRecords);
    expect(searched).toEqual([task, 'fs.readFileSync']);
    expect(sameRecords).toEqual([{ queries: ['fs.readFileSync'], used: [], skipped: [{ id: '@types/node:fs.readFileSync', reason: 'in prompt' }] }]);
    expect(repairPrompt).toMatch(signature);

    searched.length = 0;
    const searchedByOther: string[] = [];
    const otherRecords: DiagnosticRetrievalRecord[] = [];
    await run(shared, counting(searchedByOther), otherRecords);
    expect(searched).toEqual([task, 'fs.readFileSync']);
    expect(searchedByOther).toEqual(['fs.readFileSync']);
    expect(otherRecords).toHaveLength(1);
  }, 60_000);
});
