import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin } from './__fixtures__/run-bin.js';

/** The part of the orchestrator's scripted server fixture this test uses. */
interface ScriptedOpenAIServer {
  baseURL: string;
  requests: { messages: { role: string; content: string }[] }[];
  answerWith(answers: readonly string[]): void;
  close(): Promise<void>;
}

// The orchestrator's recording OpenAI-compatible server over real HTTP: a test double for a
// capable model (none runs here), shared rather than written again. Loaded by path, since this
// package's rootDir is src.
const fixture = new URL('../../orchestrator/src/__fixtures__/scripted-openai-server.ts', import.meta.url).href;
const { startScriptedOpenAIServer } = (await import(fixture)) as { startScriptedOpenAIServer(): Promise<ScriptedOpenAIServer> };

let directory: string;
let server: ScriptedOpenAIServer;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'codestack-generate-'));
  await writeFile(join(directory, 'word-count.tests.js'), "const assert = require('assert');\n\nassert.strictEqual(wordCount('  spaced   out  '), 2);\n");
  server = await startScriptedOpenAIServer();
});

afterAll(async () => {
  await server.close();
  await rm(directory, { recursive: true, force: true });
});

describe('codestack generate --tests FILE', () => {
  it('names the failing assertion by its line in the tests file in the repair request', async () => {
    const wrong = '```js\nfunction wordCount(text) {\n  return text.split(" ").length;\n}\n```';
    server.answerWith([wrong, wrong]);
    const result = await runBin(
      ['generate', 'Write wordCount(text) that counts the words in a text.', '--base-url', server.baseURL, '--model-name', 'scripted', '--language', 'javascript', '--tests', 'word-count.tests.js', '--repair-rounds', '1', '--json'],
      '',
      { cwd: directory },
    );
    expect(result.code, result.stderr).toBe(1);
    expect(server.requests).toHaveLength(2);
    const repair = server.requests[1]!.messages.map((message) => message.content).join('\n');
    expect(repair).toContain('word-count.tests.js:3');
    expect(repair).toContain("assert.strictEqual(wordCount('  spaced   out  '), 2)");
    expect(repair).not.toContain('codestack-sandbox-');
  });
});
