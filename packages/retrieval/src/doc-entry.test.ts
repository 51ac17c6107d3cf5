import { describe, expect, it } from 'vitest';
import { Bm25Index } from './bm25-index.js';
import { entryBm25Fields, entryPrior, type DocEntry } from './doc-entry.js';
import { DocsIndex } from './docs-index.js';
import { sampleEntries } from './__fixtures__/sample-entries.js';

describe('entryBm25Fields', () => {
  it('gives the names, the signatures one a line and all the documentation', () => {
    const entry: DocEntry = {
      ...(sampleEntries()[0] as DocEntry),
      aliases: ['node:files.readText'],
      signatures: ['readText(path: string): string', 'readText(path: URL): string'],
      parameters: [{ name: 'path', text: 'The file.' }],
      returns: 'The text.',
    };
    expect(entryBm25Fields(entry)).toEqual({
      names: 'files.readText node:files.readText readText',
      signatures: 'readText(path: string): string\nreadText(path: URL): string',
      documentation: 'Reads a whole file as text.\npath The file.\nThe text.\n',
    });
  });

  it('with entryPrior, ranks in a Bm25Index exactly as DocsIndex ranks its lexical side', async () => {
    const index = await DocsIndex.build(sampleEntries(), { dimension: 16 });
    const bm25 = new Bm25Index();
    for (const entry of sampleEntries()) bm25.upsert(entry.id, entryBm25Fields(entry), entryPrior(entry));
    for (const query of ['read a whole file as text', 'server options port', 'sha256 digest']) {
      const expected = bm25.search(query, 10);
      const lexical = await index.search(query, { mode: 'lexical', topK: 10 });
      expect(lexical.map((result) => [result.entry.id, result.breakdown.lexical?.score])).toEqual(expected.map((hit) => [hit.id, hit.score]));
    }
  });
});
