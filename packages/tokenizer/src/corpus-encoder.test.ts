import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { AbortedError, FileFormatError, InvalidArgumentError } from '@codestack/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createCorpusEncoder, splitAtSafePoints } from './corpus-encoder.js';
import { getTokenizer } from './openai-tokenizer.js';

// The workers run dist/corpus-encoder-worker.js: turbo builds the package before its tests.
const require = createRequire(import.meta.url);
const domPath = require.resolve('typescript/lib/lib.dom.d.ts');
const es5Path = require.resolve('typescript/lib/lib.es5.d.ts');
const dom = readFileSync(domPath, 'utf8');
const es5 = readFileSync(es5Path, 'utf8');
const tokenizer = getTokenizer('o200k_base');
const encoder = createCorpusEncoder({ encoding: 'o200k_base', workers: 2 });

afterAll(async () => {
  await encoder.close();
});

describe('createCorpusEncoder', () => {
  it('encodes a big real file split across workers exactly like one thread', async () => {
    const parallel = await encoder.encodeText(dom, { pieceCharacters: 200_000 });
    expect(Array.from(parallel)).toEqual(tokenizer.encode(dom));
  });

  it('encodes files and texts in input order', async () => {
    const [fromDom, fromEs5] = await encoder.encodeFiles([domPath, es5Path]);
    expect(Array.from(fromEs5 ?? [])).toEqual(tokenizer.encode(es5));
    expect(fromDom?.length).toBe(tokenizer.countTokens(dom));
    const texts = await encoder.encodeTexts(['first text', '', 'third 🙂 text']);
    expect(texts.map((tokens) => tokenizer.decode(Array.from(tokens)))).toEqual(['first text', '', 'third 🙂 text']);
    // Many small texts go in batches; each still gets its own tokens, in order.
    const lines = es5.split('\n').slice(0, 2000);
    const batched = await encoder.encodeTexts(lines, { pieceCharacters: 5_000 });
    expect(batched).toHaveLength(lines.length);
    batched.forEach((tokens, index) => expect(Array.from(tokens)).toEqual(tokenizer.encode(lines[index] as string)));
  });

  it('counts token frequencies over texts and files', async () => {
    const frequencies = await encoder.countFrequencies({ texts: [es5], files: [es5Path] }, { pieceCharacters: 50_000 });
    const expected = new Map<number, number>();
    for (const id of tokenizer.encode(es5)) expected.set(id, (expected.get(id) ?? 0) + 2);
    expect(frequencies.length).toBe(tokenizer.vocabularySize);
    let total = 0;
    for (const [id, count] of expected) {
      expect(frequencies[id]).toBe(count);
      total += count;
    }
    expect(frequencies.reduce((sum, count) => sum + count, 0)).toBe(total);
  });

  it('reports progress as JSON lines through the core reporter', async () => {
    const lines: string[] = [];
    const { createProgressReporter } = await import('@codestack/core');
    const reporter = createProgressReporter({
      label: 'encode',
      total: es5.length,
      json: true,
      stream: { write: (line: string) => lines.push(line) !== 0, isTTY: false } as unknown as NodeJS.WritableStream,
    });
    await encoder.encodeText(es5, { pieceCharacters: 50_000, reporter });
    const events = lines.map((line) => JSON.parse(line) as { event: string; completed: number });
    expect(events.filter((event) => event.event === 'progress').length).toBeGreaterThan(1);
    expect(events.at(-1)).toMatchObject({ event: 'finish', completed: es5.length });
  });

  it('refuses a missing file with MISSING_FILE and stops with ABORTED', async () => {
    await expect(encoder.encodeFiles(['/no/such/corpus.txt'])).rejects.toThrow(FileFormatError);
    await expect(encoder.encodeFiles(['/no/such/corpus.txt'])).rejects.toMatchObject({ code: 'MISSING_FILE' });
    const controller = new AbortController();
    const job = encoder.encodeText(dom, { pieceCharacters: 20_000, signal: controller.signal });
    controller.abort();
    await expect(job).rejects.toThrow(AbortedError);
    // The pool still works after an aborted job.
    const after = await encoder.encodeTexts(['still working']);
    expect(tokenizer.decode(Array.from(after[0] ?? []))).toBe('still working');
  });

  it('refuses bad input', () => {
    expect(() => createCorpusEncoder({ encoding: 'o200k_base', workers: 0 })).toThrow(InvalidArgumentError);
    expect(() => createCorpusEncoder({ encoding: 'no-such-encoding' })).toThrow(expect.objectContaining({ code: 'UNKNOWN_MODEL' }));
    expect(encoder.encodeText(5 as unknown as string)).rejects.toThrow(InvalidArgumentError);
  });
});

describe('splitAtSafePoints', () => {
  it('cuts only after a line break followed by a letter, and the pieces join back', () => {
    const pieces = splitAtSafePoints(es5, 10_000);
    expect(pieces.length).toBeGreaterThan(10);
    expect(pieces.join('')).toBe(es5);
    for (const piece of pieces.slice(1)) expect(piece).toMatch(/^[A-Za-z]/);
    for (const piece of pieces.slice(0, -1)) expect(piece.endsWith('\n')).toBe(true);
  });
});
