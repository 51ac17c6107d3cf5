import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Retriever } from '@codestack/core';
import { DocsIndex, loadTypeScriptDocs } from '@codestack/retrieval';
import { createDocsIndexRetriever } from '../retrieval/docs-index-retriever.js';

export interface RecordedRequest {
  stream?: boolean;
  seed?: number;
  messages: { role: string; content: string }[];
}

export interface ScriptedOpenAIServer {
  baseURL: string;
  /** Every request body received since the last `answerWith`, in order. */
  requests: RecordedRequest[];
  /** Clears `requests` and queues the completions the next requests get ('' once exhausted). */
  answerWith(answers: readonly string[]): void;
  close(): Promise<void>;
}

/**
 * A local OpenAI-compatible server over real HTTP that records every request body and
 * answers with scripted completions (streamed or not): a test double for a capable model,
 * not a model.
 */
export async function startScriptedOpenAIServer(): Promise<ScriptedOpenAIServer> {
  const requests: RecordedRequest[] = [];
  let script: string[] = [];
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const body = JSON.parse(text) as RecordedRequest;
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
  return {
    baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests,
    answerWith(answers) {
      requests.length = 0;
      script = [...answers];
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A real DocsIndex over all of @types/node as installed for `projectDirectory`, as the orchestrator's retriever. */
export async function createNodeTypesRetriever(projectDirectory: string): Promise<Retriever> {
  return createDocsIndexRetriever(await DocsIndex.build(await loadTypeScriptDocs('@types/node', { from: projectDirectory })));
}
