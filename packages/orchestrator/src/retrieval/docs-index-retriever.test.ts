import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { DocsIndex, entryHeader, runDocsCommand, type DocEntry } from '@codestack/retrieval';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocsIndexRetriever, isDocsIndexDocument, loadDocsIndexRetriever, type DocsIndexDocument } from './docs-index-retriever.js';

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'codestack-docs-'));
  const code = await runDocsCommand(['index', '@codestack/core', '--out', directory, '--json'], {
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
  });
  expect(code).toBe(0);
}, 60000);

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('loadDocsIndexRetriever', () => {
  it('retrieves the declarations of a real package index as documents', async () => {
    const retriever = await loadDocsIndexRetriever(directory);
    const documents = await retriever.retrieve('write a file atomically', { topK: 3 });
    expect(documents).toHaveLength(3);
    expect(documents[0]?.id).toContain('writeFileAtomic');
    expect(documents[0]?.text).toContain('function writeFileAtomic(path: string');
    expect(documents[0]!.score).toBeGreaterThanOrEqual(documents[1]!.score);
  });

  it('gives the documents exactly as DocsIndex.retrieve renders them: one rendering of an entry', async () => {
    const retriever = await loadDocsIndexRetriever(directory);
    const index = await DocsIndex.load(directory);
    const documents = await retriever.retrieve('write a file atomically', { topK: 3 });
    expect(documents.map(({ id, text, score, source }) => ({ id, text, score, source }))).toEqual(await index.retrieve('write a file atomically', { topK: 3 }));
    expect(documents[0]?.text.split('\n')[0]).toMatch(/^\/\/ @codestack\/core.writeFileAtomic \(function, @codestack\/core@/);
  });

  it('gives each document its relevance and a compact form: header, signatures, first sentence', async () => {
    const retriever = await loadDocsIndexRetriever(directory);
    const [first] = await retriever.retrieve('write a file atomically', { topK: 1 });
    expect(isDocsIndexDocument(first!)).toBe(true);
    const document = first as DocsIndexDocument;
    expect(document.relevance).toBeGreaterThan(0);
    expect(document.compact).toContain('function writeFileAtomic(path: string');
    expect(document.compact.length).toBeLessThanOrEqual(document.text.length);
  });

  it("keeps a deprecated API's @deprecated line in both forms, under the one entryHeader", async () => {
    const entry: DocEntry = {
      id: 'demo:files.exists',
      name: 'files.exists',
      aliases: [],
      kind: 'function',
      signatures: ['function exists(path: string): boolean;'],
      summary: 'Tests whether a path exists. Slow on network drives.',
      documentation: 'Tests whether a path exists. Slow on network drives.\n\nLonger detail that only the whole text carries.',
      parameters: [],
      examples: [],
      deprecated: 'Use stat or access instead.',
      package: 'demo',
      packageVersion: '1.0.0',
      sourceFile: 'files.d.ts',
      line: 7,
    };
    const retriever = createDocsIndexRetriever(await DocsIndex.build([entry]));
    const [document] = (await retriever.retrieve('whether a path exists', { topK: 1 })) as DocsIndexDocument[];
    expect(entryHeader(entry)).toBe('// files.exists (function, demo@1.0.0 files.d.ts:7)\nfunction exists(path: string): boolean;\n@deprecated Use stat or access instead.');
    expect(document!.compact).toBe(`${entryHeader(entry)}\nTests whether a path exists.`);
    expect(document!.text).toBe(`${entryHeader(entry)}\n${entry.documentation}`);
  });

  it('refuses a directory that is not an index', async () => {
    await expect(loadDocsIndexRetriever(join(directory, 'missing'))).rejects.toMatchObject({ code: expect.stringMatching(/MISSING_FILE|CORRUPT_FILE/) });
  });
});
