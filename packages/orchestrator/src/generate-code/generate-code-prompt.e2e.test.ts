import { fileURLToPath } from 'node:url';
import { getTokenizer } from '@codestack/tokenizer';
import type { Retriever } from '@codestack/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeTypesRetriever, startScriptedOpenAIServer, type ScriptedOpenAIServer } from '../__fixtures__/scripted-openai-server.js';
import { OpenAICompatibleModel } from '../models/openai-compatible-model.js';
import { generateCode, type GenerateCodeEvent } from './generate-code.js';

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

async function runWith(answers: string[], options: Partial<Parameters<typeof generateCode>[0]> & { task: string }) {
  server.answerWith(answers);
  const model = new OpenAICompatibleModel({ baseURL: server.baseURL, modelId: 'scripted-test-double' });
  const run = generateCode({ model, tokenizer, retriever, contextTokens: 8192, ...options });
  const events: GenerateCodeEvent[] = [];
  for await (const event of run.events) events.push(event);
  return { result: await run.result, events, sent: server.requests.map((request) => request.messages.map((message) => message.content).join('\n\n')) };
}

describe('generateCode over HTTP with a real @types/node index', () => {
  it("runs the issue's scenario (wordCount, an @types/node index, tests in word-count.tests.js) without sending a document in any request", async () => {
    const task = 'Write a TypeScript function wordCount(text: string): number that counts the words in a text.';
    const tests = "import assert from 'node:assert';\nassert.strictEqual(wordCount('one two'), 2);\nassert.strictEqual(wordCount('  spaced   out  '), 2);\n";
    const answers = ["```ts\nexport function wordCount(text: string): number {\n  return text.split(' ').length;\n}\n```", '```ts\nexport function wordCount(text: string): number {\n  return text.split(/\\s+/).filter(Boolean).length;\n}\n```'];
    const validation = { projectDirectory, tests, testsFile: 'word-count.tests.js', codeFile: 'word-count.ts' };
    const { result, events, sent } = await runWith(answers, { task, validation });
    expect(result.ok).toBe(true);
    expect(sent).toHaveLength(2);
    for (const request of sent) {
      expect(request).not.toContain('Reference documents');
      expect(request).not.toContain('The real signatures');
      expect(request).not.toMatch(/callCount|writeHead|@types\/node/);
    }
    expect(sent[1]).toContain("The failing test is word-count.tests.js:3:\n    assert.strictEqual(wordCount('  spaced   out  '), 2);");
    const retrievals = events.filter((event) => event.type === 'retrieval');
    expect(retrievals).toHaveLength(1);
    expect(retrievals[0]!.documents).toEqual([]);
    expect(retrievals[0]!.overBudget).toEqual([]);
    expect(retrievals[0]!.documentTokens).toBe(0);
    expect(retrievals[0]!.irrelevant.length).toBeGreaterThan(0);
    expect(retrievals[0]!.irrelevant[0]!.reason).toMatch(/^relevance \d\.\d+ < threshold 0\.9$/);
    expect(events.filter((event) => event.type === 'prompt').map((event) => event.documentTokens)).toEqual([0, 0]);

    // The control: with the gate and the documents' budget off (the prompt before this work), the
    // same scenario sends the irrelevant documents whole.
    const before = await runWith(answers, { task, validation, minimumRelevance: 0, maximumDocumentTokens: 100_000 });
    expect(before.sent[0]).toContain('Reference documents');
    expect(before.sent[0]).toMatch(/callCount|writeHead/);
    const beforePrompt = before.events.find((event) => event.type === 'prompt') as Extract<GenerateCodeEvent, { type: 'prompt' }>;
    expect(beforePrompt.documentTokens).toBeGreaterThan(500);
  });

  it("sends the right API's signature within its top documents, compactly", async () => {
    const task = 'Write a TypeScript function decompress(data: Buffer): Buffer that decompresses gzip data synchronously.';
    const { events, sent } = await runWith(["```ts\nimport { gunzipSync } from 'node:zlib';\nexport function decompress(data: Buffer): Buffer {\n  return gunzipSync(data);\n}\n```"], { task });
    const retrieval = events.find((event) => event.type === 'retrieval') as Extract<GenerateCodeEvent, { type: 'retrieval' }>;
    expect(retrieval.documents.slice(0, 3).map((document) => document.id)).toContain('@types/node:zlib.gunzipSync');
    expect(sent[0]).toContain('Reference documents');
    expect(sent[0]).toMatch(/function gunzipSync\(buf: InputType, options\?: ZlibOptions\): (?:Buffer|NonSharedBuffer)/);
    const prompt = events.find((event) => event.type === 'prompt') as Extract<GenerateCodeEvent, { type: 'prompt' }>;
    expect(prompt.documentTokens).toBeGreaterThan(0);
    expect(prompt.documentTokens).toBeLessThanOrEqual(1024 + 16);
  });

  it("puts the failing assertion's source line of the user's tests into the repair message", async () => {
    const task = 'Write a TypeScript function wordCount(text: string): number that counts the words in a text.';
    const tests = "import assert from 'node:assert';\nassert.strictEqual(wordCount('one two'), 2);\nassert.strictEqual(wordCount('  spaced   out  '), 2);\n";
    const { result, sent } = await runWith(
      ["```ts\nexport function wordCount(text: string): number {\n  return text.split(' ').length;\n}\n```", '```ts\nexport function wordCount(text: string): number {\n  return text.split(/\\s+/).filter(Boolean).length;\n}\n```'],
      { task, validation: { projectDirectory, tests, testsFile: 'word-count.tests.ts', codeFile: 'word-count.ts' } },
    );
    expect(result.ok).toBe(true);
    expect(sent[1]).toContain("The failing test is word-count.tests.ts:3:\n    assert.strictEqual(wordCount('  spaced   out  '), 2);");
    expect(sent[1]).toContain('Expected: 2\nActual:   8');
    expect(sent[1]).not.toMatch(/codestack-sandbox|main\.cjs|node:internal/);
  });

  it("sends a misspelt member's real signature in the repair round", async () => {
    const task = 'Write a TypeScript function lineCount(path: string): number that counts the lines of a text file.';
    const { events, sent } = await runWith(
      ["```ts\nimport fs from 'node:fs';\nexport function lineCount(path: string): number {\n  return fs.readFileSyncc(path, 'utf8').split('\\n').length;\n}\n```", "```ts\nimport fs from 'node:fs';\nexport function lineCount(path: string): number {\n  return fs.readFileSync(path, 'utf8').split('\\n').length;\n}\n```"],
      { task, validation: { projectDirectory, codeFile: 'line-count.ts' } },
    );
    const repairRetrieval = events.find((event) => event.type === 'retrieval' && event.attempt === 1) as Extract<GenerateCodeEvent, { type: 'retrieval' }> | undefined;
    expect(repairRetrieval?.query).toBe('fs.readFileSync');
    expect(sent[1]).toContain("Property 'readFileSyncc' does not exist");
    expect(sent[1]).toMatch(/function readFileSync\(\s*path: PathOrFileDescriptor/);
  });
});
