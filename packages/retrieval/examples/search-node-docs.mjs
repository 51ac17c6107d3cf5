import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DocsIndex, loadTypeScriptDocs } from '@codestack/retrieval';

const entries = await loadTypeScriptDocs('@types/node');
console.log(`${entries.length > 5000 ? 'over 5,000' : entries.length} entries from @types/node`);
const index = await DocsIndex.build(entries);
for (const result of await index.search('compute a sha256 hash of a string', { topK: 3 })) {
  const { entry, breakdown } = result;
  console.log(entry.name, entry.kind, `fused=${breakdown.fused.toFixed(4)}`, `bm25#${breakdown.lexical?.rank}`, `vector#${breakdown.vector?.rank}`);
  console.log('  ', entry.signatures[0]);
}
const directory = await mkdtemp(join(tmpdir(), 'node-docs-index-'));
await index.save(directory);
const again = await DocsIndex.load(directory);
console.log((await again.search('node:fs readFileSync', { topK: 1 }))[0]?.entry.name);
await rm(directory, { recursive: true });
