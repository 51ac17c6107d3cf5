import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { DocsIndex, loadTypeScriptDocs } from '@codestack/retrieval';
import { getTokenizer } from '@codestack/tokenizer';
import type { Retriever } from '@codestack/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCode, repairFeedback } from '../generate-code/generate-code.js';
import { generateText } from '../models/generate-text.js';
import { OpenAICompatibleModel } from '../models/openai-compatible-model.js';
import { wrapLanguageModel } from '../models/wrap-language-model.js';
import { createDocsIndexRetriever } from '../retrieval/docs-index-retriever.js';
import { defaultSettingsMiddleware } from './default-settings-middleware.js';
import { diagnosticRetrievalMiddleware, parseDiagnostics, type DiagnosticRetrievalRecord } from './diagnostic-retrieval-middleware.js';
import { retrievalAugmentationMiddleware } from './retrieval-augmentation-middleware.js';

// A real DocsIndex over all of @types/node (built once for this file), and a local
// OpenAI-compatible server over real HTTP that records every request body and answers with
// scripted completions: a test double for a capable model, not a model.
const projectDirectory = fileURLToPath(new URL('../..', import.meta.url));
const tokenizer = getTokenizer('cl100k_base');
let retriever: Retriever;
let server: Server;
let baseURL: string;
const requests: { seed?: number; messages: { role: string; content: string }[] }[] = [];
let script: string[] = [];

beforeAll(async () => {
  retriever = createDocsIndexRetriever(await DocsIndex.build(await loadTypeScriptDocs('@types/node', { from: projectDirectory })));
  server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const body = JSON.parse(text) as { stream?: boolean; seed?: number; messages: { role: string; content: string }[] };
      requests.push(body);
      const content = script.shift() ?? '';
      if (body.stream) {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`);
        response.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1 } })}\n\n`);
        response.end('data: [DONE]\n\n');
      } else {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ choices: [{ message: { content }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1 } }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}, 180_000);

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const broken = "```ts\nimport fs from 'node:fs';\nexport function lineCount(path: string): number {\n  return fs.readFileSyncc(path, 'utf8').split('\\n').length;\n}\n```";
const fixed = "```ts\nimport fs from 'node:fs';\nexport function lineCount(path: string): number {\n  return fs.readFileSync(path, 'utf8').split('\\n').length;\n}\n```";
const signature = /\[@types\/node:fs\.readFileSync\]\n\/\/ fs\.readFileSync \(function[^\n]*\n(?:export )?(?:declare )?function readFileSync\(\s*path: PathOrFileDescriptor/;

function stack(records: DiagnosticRetrievalRecord[]) {
  return wrapLanguageModel({
    model: new OpenAICompatibleModel({ baseURL, modelId: 'scripted-test-double' }),
    middleware: [
      defaultSettingsMiddleware({ settings: { seed: 7 } }),
      diagnosticRetrievalMiddleware({ retriever, tokenizer, onRetrieval: (record) => records.push(record) }),
      retrievalAugmentationMiddleware({ retriever, tokenizer, maximumDocumentTokens: 512, topK: 2 }),
    ],
  });
}

describe('diagnosticRetrievalMiddleware over HTTP with a real @types/node index', () => {
  it("composes with retrieval augmentation and default settings: generateCode's repair round gets the misspelt member's real signature", async () => {
    requests.length = 0;
    script = [broken, fixed];
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
    expect(requests).toHaveLength(2);
    expect(requests.every((request) => request.seed === 7)).toBe(true);
    // First call: retrieval augmentation's documents, no repair documents.
    expect(requests[0]!.messages[0]!.content).toContain('Reference documents');
    expect(requests[0]!.messages.map((message) => message.content).join('\n')).not.toContain('The real signatures');
    expect(requests[1]!.messages[0]!.content).toContain('Reference documents');
    // Repair call: the signature sits just before the repair message.
    const repair = requests[1]!.messages;
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
    requests.length = 0;
    const records: DiagnosticRetrievalRecord[] = [];
    const feedback = repairFeedback({ ok: false, diagnostics: [{ code: 2551, category: 'error', message: `Property 'readFileSyncc' does not exist on type 'typeof import("fs")'. Did you mean 'readFileSync'?`, file: 'line-count.ts', line: 3, column: 13 }] });
    expect(parseDiagnostics(feedback)).toHaveLength(1);
    script = [''];
    await generateText({ model: stack(records), prompt: [{ role: 'user', content: 'Count the lines of a file.' }, { role: 'assistant', content: broken }, { role: 'user', content: feedback }] });
    expect(requests[0]!.messages.map((message) => message.content).join('\n')).toMatch(signature);
    expect(records[0]!.used.map((document) => document.id)).toEqual(['@types/node:fs.readFileSync']);

    // generateCode with its own retriever already puts the signature in: the middleware skips it.
    requests.length = 0;
    records.length = 0;
    script = [broken, fixed];
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
    expect(requests[1]!.messages.map((message) => message.content).join('\n')).not.toContain('The real signatures');
    expect(requests[1]!.messages.map((message) => message.content).join('\n')).toMatch(signature);
  }, 60_000);
});
