import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortedError, FileFormatError, InvalidArgumentError } from '@codestack/core';
import { getTokenizer } from '@codestack/tokenizer';
import type { DocEntry } from './doc-entry.js';
import { DocsIndex } from './docs-index.js';
import { EmbedderMismatchError } from './embedder-mismatch-error.js';
import { sampleEntries } from './__fixtures__/sample-entries.js';
import { LocalEmbedder } from './local-embedder.js';

let directory: string;
let index: DocsIndex;
const names = (results: { entry: DocEntry }[]): string[] => results.map((result) => result.entry.name);

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'codestack-docs-index-'));
  index = await DocsIndex.build(sampleEntries(), { dimension: 64 });
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('DocsIndex search', () => {
  it('answers in every mode with a score breakdown', async () => {
    const hybrid = await index.search('read a whole file as text', { topK: 3 });
    expect(names(hybrid)[0]).toBe('files.readText');
    const [best] = hybrid;
    expect(best?.breakdown.lexical?.rank).toBe(1);
    expect(best?.breakdown.vector?.similarity).toBeGreaterThan(0);
    expect(best?.score).toBe(best?.breakdown.fused);
    const lexical = await index.search('sha256 digest', { mode: 'lexical', topK: 2 });
    expect(names(lexical)[0]).toBe('hash.sha256');
    expect(lexical[0]?.breakdown.vector).toBeUndefined();
    const vector = await index.search('sha256 digest', { mode: 'vector', topK: 2 });
    expect(names(vector)[0]).toBe('hash.sha256');
    expect(vector[0]?.score).toBe(vector[0]?.breakdown.vector?.similarity);
  });

  it('filters by package, kind and deprecation inside the search', async () => {
    const other = await index.search('server port file text', { topK: 10, filter: { package: 'other' } });
    expect(new Set(other.map((result) => result.entry.package))).toEqual(new Set(['other']));
    const interfaces = await index.search('server', { topK: 10, filter: { kind: 'interface' } });
    expect(names(interfaces)).toEqual(['net.ServerOptions']);
    const current = await index.search('reads a file', { topK: 10, filter: { deprecated: false } });
    expect(names(current)).not.toContain('files.readLegacy');
    const deprecated = await index.search('reads a file', { topK: 10, filter: { deprecated: true } });
    expect(names(deprecated)).toEqual(['files.readLegacy']);
  });

  it('diversifies with MMR', async () => {
    const [readText] = sampleEntries();
    // An exact twin of files.readText under another name: the same vector, the same relevance.
    const twin = { ...readText!, id: 'demo:files.readTextTwin', name: 'files.readTextTwin' };
    const local = await DocsIndex.build([...sampleEntries(), twin], { dimension: 64 });
    const plain = names(await local.search('reads a whole file as text', { topK: 2, mode: 'vector' }));
    const diverse = names(await local.search('reads a whole file as text', { topK: 2, mode: 'vector', mmr: { lambda: 0.3 } }));
    expect(new Set(plain)).toEqual(new Set(['files.readText', 'files.readTextTwin']));
    expect(plain).toContain(diverse[0]);
    expect(diverse[1]).not.toMatch(/^files\.readText(Twin)?$/);
  });

  it('serves as core\'s Retriever with prompt-ready text', async () => {
    const documents = await index.retrieve('sha256 digest', { topK: 2 });
    expect(documents).toHaveLength(2);
    expect(documents[0]).toMatchObject({ id: 'demo:hash.sha256', source: 'demo/index.d.ts:1' });
    expect(documents[0]?.text.split('\n')).toEqual([
      '// hash.sha256 (function, demo@1.0.0 index.d.ts:1)',
      'sha256(): void',
      'Computes the SHA-256 digest of bytes.',
    ]);
    expect(documents[0]?.score).toBe((await index.search('sha256 digest', { topK: 1 }))[0]?.score);
    await expect(index.retrieve('x', { topK: 1, signal: AbortSignal.abort() })).rejects.toSatisfy(AbortedError.isInstance);
  });

  it('upserts and deletes entries', async () => {
    const local = await DocsIndex.build(sampleEntries(), { dimension: 64 });
    const changed = { ...sampleEntries()[6]!, name: 'hash.blake', summary: 'Computes a BLAKE digest.', documentation: 'Computes a BLAKE digest.' };
    await local.upsert([changed]);
    expect(local.size).toBe(7);
    expect(names(await local.search('blake digest', { topK: 1 }))).toEqual(['hash.blake']);
    expect(local.delete('demo:hash.sha256')).toBe(true);
    expect(local.size).toBe(6);
    expect(names(await local.search('sha256', { topK: 10 }))).not.toContain('hash.blake');
  });

  it('splits a long entry into pieces and returns it once', async () => {
    const long: DocEntry = {
      ...sampleEntries()[0]!,
      id: 'demo:files.manual',
      name: 'files.manual',
      documentation: Array.from({ length: 30 }, (_, part) => `## Part ${part}\n\nThe manual explains chapter ${part} about zebra${part} handling.`).join('\n\n'),
    };
    const local = await DocsIndex.build([long, ...sampleEntries()], { dimension: 64, maximumTokens: 64, tokenizer: getTokenizer('cl100k_base') });
    expect(local.size).toBeGreaterThan(8);
    expect(local.get('demo:files.manual#2')?.chunk?.index).toBe(2);
    const results = await local.search('manual zebra12 chapter', { topK: 5 });
    expect(names(results).filter((name) => name === 'files.manual')).toHaveLength(1);
    expect(results[0]?.entry.documentation).toContain('zebra12');
  });

  it('refuses a query through a different embedder and bad arguments', async () => {
    const other = await LocalEmbedder.fit(['something else entirely'], { dimension: 64 });
    await expect(index.search('x', { embedder: other })).rejects.toSatisfy(EmbedderMismatchError.isInstance);
    await expect(index.search('x', { embedder: index.embedder })).resolves.toBeInstanceOf(Array);
    await expect(index.search('x', { topK: 0 })).rejects.toSatisfy(InvalidArgumentError.isInstance);
    await expect(index.search('x', { signal: AbortSignal.abort() })).rejects.toSatisfy(AbortedError.isInstance);
  });
});

describe('DocsIndex persistence', () => {
  it('round-trips through save and load with the same results', async () => {
    const target = join(directory, 'round-trip');
    const manifest = await index.save(target);
    expect(manifest).toMatchObject({ format: 'codestack-docs-index', formatVersion: 1, count: 7, embedder: { id: index.embedder.id, dimension: 64 } });
    const loaded = await DocsIndex.load(target);
    expect(loaded.embedder.id).toBe(index.embedder.id);
    for (const query of ['read a whole file as text', 'server port', 'digest']) {
      expect(await loaded.search(query, { topK: 5 })).toEqual(await index.search(query, { topK: 5 }));
    }
  });

  it('switches by manifest and removes the previous data files', async () => {
    const target = join(directory, 'switch');
    const local = await DocsIndex.build(sampleEntries(), { dimension: 64 });
    const first = await local.save(target);
    local.delete('demo:hash.sha256');
    const second = await local.save(target);
    expect(second.files.docstore.name).not.toBe(first.files.docstore.name);
    const files = await readdir(target);
    expect(files.sort()).toEqual([second.files.docstore.name, second.files.embedderState?.name, second.files.graph.name, 'manifest.json'].sort());
    expect((await DocsIndex.load(target)).size).toBe(6);
  });

  it('refuses a missing, corrupt or mismatched directory with FileFormatError', async () => {
    const target = join(directory, 'damaged');
    const manifest = await index.save(target);
    await expect(DocsIndex.load(join(directory, 'nothing-here'))).rejects.toMatchObject({ code: 'MISSING_FILE' });

    const docstorePath = join(target, manifest.files.docstore.name);
    const original = await readFile(docstorePath);
    const flipped = Buffer.from(original);
    flipped[10] = (flipped[10] ?? 0) ^ 0xff;
    await writeFile(docstorePath, flipped);
    const corrupt = await DocsIndex.load(target).catch((error: unknown) => error);
    expect(FileFormatError.isInstance(corrupt)).toBe(true);
    expect((corrupt as FileFormatError).code).toBe('CORRUPT_FILE');
    await writeFile(docstorePath, original);

    const graphPath = join(target, manifest.files.graph.name);
    const graph = await readFile(graphPath);
    await writeFile(graphPath, graph.subarray(0, graph.length - 100));
    await expect(DocsIndex.load(target)).rejects.toMatchObject({ code: 'CORRUPT_FILE' });
    await writeFile(graphPath, graph);

    const manifestPath = join(target, 'manifest.json');
    const manifestText = await readFile(manifestPath, 'utf8');
    await writeFile(manifestPath, manifestText.replace('"formatVersion": 1', '"formatVersion": 99'));
    await expect(DocsIndex.load(target)).rejects.toMatchObject({ code: 'MISMATCHED_FILE' });
    await writeFile(manifestPath, '{ not json');
    await expect(DocsIndex.load(target)).rejects.toMatchObject({ code: 'CORRUPT_FILE' });
    await writeFile(manifestPath, manifestText);
    await expect(DocsIndex.load(target)).resolves.toBeInstanceOf(DocsIndex);
  });

  it('saves and loads an empty index', async () => {
    const empty = await DocsIndex.build([], { dimension: 16 });
    expect(await empty.search('anything')).toEqual([]);
    const target = join(directory, 'empty');
    expect((await empty.save(target)).count).toBe(0);
    const loaded = await DocsIndex.load(target);
    expect(loaded.size).toBe(0);
    await loaded.upsert(sampleEntries().slice(0, 2));
    expect((await loaded.search('read file', { topK: 1 }))[0]?.entry.name).toBe('files.readText');
  });

  it('refuses to load with a different embedder or dimension', async () => {
    const target = join(directory, 'embedder');
    await index.save(target);
    const sameDimension = await LocalEmbedder.fit(['unrelated corpus'], { dimension: 64 });
    await expect(DocsIndex.load(target, { embedder: sameDimension })).rejects.toSatisfy(EmbedderMismatchError.isInstance);
    const wrongDimension = { id: index.embedder.id, dimension: 32, embed: index.embedder.embed.bind(index.embedder) };
    await expect(DocsIndex.load(target, { embedder: wrongDimension })).rejects.toMatchObject({ code: 'EMBEDDER_MISMATCH' });
  });
});
