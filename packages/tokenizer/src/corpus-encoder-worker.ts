/**
 * The worker thread of the corpus encoder. It runs as plain JavaScript from `dist/`, so it imports
 * only `gpt-tokenizer` and Node built-ins, never this package's TypeScript sources.
 */
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';

/** A job the main thread sends. */
export type CorpusWorkerRequest =
  | { id: number; kind: 'encode' | 'count'; texts?: string[]; paths?: string[] }
  | { id: number; kind: 'collect' };

/** A worker's answer. */
export type CorpusWorkerResponse =
  | { id: number; kind: 'encoded'; tokens: Uint32Array; lengths: Uint32Array; characters: number }
  | { id: number; kind: 'counted'; tokenCount: number; characters: number }
  | { id: number; kind: 'collected'; frequencies: Uint32Array }
  | { id: number; kind: 'failed'; message: string; code?: string; path?: string }
  | { id: -1; kind: 'ready' };

interface WorkerSetup {
  encodingName: string;
  vocabularySize: number;
}

interface Encoder {
  encode(text: string, options: { disallowedSpecial: Set<string> }): number[];
}

const setup = workerData as WorkerSetup;
const plainText = { disallowedSpecial: new Set<string>() };
const port = parentPort;
if (port === null) throw new Error('corpus-encoder-worker must run in a worker thread');

const encoder = ((await import(`gpt-tokenizer/encoding/${setup.encodingName}`)) as { default: Encoder }).default;
let frequencies: Uint32Array | undefined;

port.on('message', (request: CorpusWorkerRequest) => {
  void handle(request).then(
    ([response, transfer]) => port.postMessage(response, transfer),
    (error: unknown) => {
      const failure = error as NodeJS.ErrnoException & { path?: string };
      port.postMessage({
        id: request.id,
        kind: 'failed',
        message: failure?.message ?? String(error),
        code: failure?.code,
        path: failure?.path,
      } satisfies CorpusWorkerResponse);
    },
  );
});
port.postMessage({ id: -1, kind: 'ready' } satisfies CorpusWorkerResponse);

async function handle(request: CorpusWorkerRequest): Promise<[CorpusWorkerResponse, ArrayBuffer[]]> {
  if (request.kind === 'collect') {
    const result = frequencies ?? new Uint32Array(setup.vocabularySize);
    frequencies = undefined;
    return [{ id: request.id, kind: 'collected', frequencies: result }, [result.buffer as ArrayBuffer]];
  }
  const texts = request.texts ?? (await Promise.all((request.paths ?? []).map((path) => readFile(path, 'utf8'))));
  const encodedTexts = texts.map((text) => encoder.encode(text, plainText));
  const characters = texts.reduce((sum, text) => sum + text.length, 0);
  if (request.kind === 'count') {
    frequencies ??= new Uint32Array(setup.vocabularySize);
    let tokenCount = 0;
    for (const ids of encodedTexts) {
      tokenCount += ids.length;
      for (const id of ids) frequencies[id] = (frequencies[id] as number) + 1;
    }
    return [{ id: request.id, kind: 'counted', tokenCount, characters }, []];
  }
  // One buffer for the whole batch, with each text's length, to transfer without copying.
  const lengths = Uint32Array.from(encodedTexts, (ids) => ids.length);
  const tokens = new Uint32Array(lengths.reduce((sum, length) => sum + length, 0));
  let offset = 0;
  for (const ids of encodedTexts) {
    tokens.set(ids, offset);
    offset += ids.length;
  }
  return [
    { id: request.id, kind: 'encoded', tokens, lengths, characters },
    [tokens.buffer as ArrayBuffer, lengths.buffer as ArrayBuffer],
  ];
}
