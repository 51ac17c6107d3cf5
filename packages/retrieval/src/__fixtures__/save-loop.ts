/**
 * Child process of the crash-safety test: builds an index of argv[3] entries (default 3000), then
 * saves it again and again into the directory given as argv[2], changing one entry between saves
 * and printing `saved <n>` after each save, until it is killed.
 */
import { DocsIndex } from '../docs-index.js';
import type { DocEntry } from '../doc-entry.js';
import { sampleEntries } from './sample-entries.js';

const directory = process.argv[2] as string;
const template = sampleEntries()[0] as DocEntry;
const entries: DocEntry[] = Array.from({ length: Number(process.argv[3] ?? 3000) }, (_, position) => ({
  ...template,
  id: `demo:bulk.entry${position}`,
  name: `bulk.entry${position}`,
  documentation: `Entry number ${position} describes operation ${position % 97} on resource ${position % 31}.`,
}));
const index = await DocsIndex.build(entries, { dimension: Number(process.argv[4] ?? 128) });
for (let round = 0; ; round++) {
  await index.upsert([{ ...template, id: `demo:changing`, name: `changing.round${round}` }]);
  await index.save(directory);
  process.stdout.write(`saved ${round}\n`);
}
