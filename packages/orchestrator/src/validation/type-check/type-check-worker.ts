/**
 * The worker thread of `typeCheck`. It runs as plain JavaScript from `dist/` and imports only the
 * compiler, Node built-ins and the type-check modules, never `@codestack/*` packages. It answers
 * one request at a time and installs no process-wide handlers.
 */
import { parentPort } from 'node:worker_threads';
import { checkProgram, type TypeCheckProgramRequest, type TypeCheckProgramResult } from './type-check-program.js';
import { typescriptCompiler } from './typescript-compiler.js';

/** A request the main thread sends. */
export interface TypeCheckWorkerRequest {
  /** Matches the answer to the request. */
  id: number;
  /** What to check. */
  request: TypeCheckProgramRequest;
}

/** The worker's answer. */
export type TypeCheckWorkerResponse =
  | { id: number; kind: 'checked'; result: TypeCheckProgramResult }
  | { id: number; kind: 'failed'; message: string }
  | { id: -1; kind: 'ready' };

const port = parentPort;
if (port === null) throw new Error('type-check-worker must run in a worker thread');

// Load the compiler before answering, so that a check's time limit does not count loading it.
typescriptCompiler();
port.postMessage({ id: -1, kind: 'ready' } satisfies TypeCheckWorkerResponse);

port.on('message', ({ id, request }: TypeCheckWorkerRequest) => {
  let response: TypeCheckWorkerResponse;
  try {
    response = { id, kind: 'checked', result: checkProgram(request) };
  } catch (error) {
    response = { id, kind: 'failed', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
  port.postMessage(response);
});
