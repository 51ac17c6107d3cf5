import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DocEntry } from './doc-entry.js';
import { DocsIndex } from './docs-index.js';
import { evaluateRetrieval, type RetrievalQuery } from './evaluate-retrieval.js';
import { packageDirectory } from './__fixtures__/fixture-project.js';
import { loadTypeScriptDocs } from './typescript-loader.js';

// All of @types/node, indexed once for this file (about 10-20 s on two cores).
let entries: DocEntry[];
let index: DocsIndex;
let directory: string;
const byName = (name: string): DocEntry | undefined => entries.find((entry) => entry.name === name);

beforeAll(async () => {
  entries = await loadTypeScriptDocs('@types/node', { from: packageDirectory });
  index = await DocsIndex.build(entries);
  directory = await mkdtemp(join(tmpdir(), 'codestack-node-index-'));
}, 120_000);
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('all of @types/node', () => {
  it('indexes every module once, under its plain name, with node: aliases', () => {
    expect(entries.length).toBeGreaterThan(4000);
    expect(entries.filter((entry) => entry.name.startsWith('node:'))).toEqual([]);
    expect(new Set(entries.map((entry) => entry.id)).size).toBe(entries.length);
    const readFileSync = byName('fs.readFileSync');
    expect(readFileSync).toMatchObject({ kind: 'function', package: '@types/node', sourceFile: 'fs.d.ts', since: 'v0.1.8' });
    expect(readFileSync?.aliases).toContain('node:fs.readFileSync');
    expect(readFileSync?.signatures.length).toBeGreaterThanOrEqual(3);
    expect(byName('fs.promises.readFile')?.aliases).toContain('node:fs/promises.readFile');
  });

  it('names classes, inherited members, namespaces and globals', () => {
    expect(byName('http.Server')?.kind).toBe('class');
    const listen = entries.find((entry) => entry.name === 'http.Server.listen' || entry.aliases.includes('http.Server.listen'));
    expect(listen?.name).toBe('net.Server.listen');
    expect(byName('stream.Readable')?.kind).toBe('class');
    expect(byName('events.EventEmitter.on')?.kind).toBe('method');
    expect(byName('path.join')?.kind).toBe('method');
    expect(byName('process.argv')?.kind).toBe('property');
    expect(byName('timers.setTimeout')?.aliases).toContain('setTimeout');
    expect(entries.some((entry) => entry.deprecated !== undefined)).toBe(true);
  });

  it('splits long documentation into pieces', () => {
    expect(index.size).toBeGreaterThan(entries.length);
  });

  it('finds APIs by node: alias, by task and within filters', async () => {
    expect((await index.search('node:fs readFileSync', { topK: 1 }))[0]?.entry.name).toBe('fs.readFileSync');
    const functions = await index.search('compress data with gzip', { topK: 5, filter: { kind: 'function', deprecated: false } });
    expect(functions.every((result) => result.entry.kind === 'function' && result.entry.deprecated === undefined)).toBe(true);
    expect(functions.map((result) => result.entry.name)).toContain('zlib.gzip');
  });

  it('meets the retrieval floor on the shipped query set', async () => {
    const { queries } = JSON.parse(await readFile(join(packageDirectory, 'data/node-queries.json'), 'utf8')) as { queries: RetrievalQuery[] };
    expect(queries.length).toBeGreaterThanOrEqual(100);
    const report = await evaluateRetrieval(index, queries);
    // Measured (bench, ef 64): hybrid recall@5 0.831, recall@10 0.905; lexical 0.851 / 0.905; vector 0.743 / 0.811.
    expect(report.hybrid.recallAtK[10]).toBeGreaterThanOrEqual(0.85);
    expect(report.hybrid.recallAtK[5]).toBeGreaterThanOrEqual(0.8);
    expect(report.lexical.recallAtK[5]).toBeGreaterThanOrEqual(0.7);
    expect(report.vector.recallAtK[10]).toBeGreaterThanOrEqual(0.7);
    expect(report.hybrid.mrr).toBeGreaterThan(0.5);
  });

  it('saves and loads the full index with the same results', { timeout: 60_000 }, async () => {
    await index.save(directory);
    const loaded = await DocsIndex.load(directory);
    for (const query of ['read a whole file as text', 'spawn a child process', 'hash a string with sha256']) {
      expect(await loaded.search(query, { topK: 10 })).toEqual(await index.search(query, { topK: 10 }));
    }
  });
});
