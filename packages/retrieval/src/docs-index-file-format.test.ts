import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodestackError, FileFormatError, InvalidArgumentError, sha256Hex } from '@codestack/core';
import type { DocEntry } from './doc-entry.js';
import { DocsIndex } from './docs-index.js';
import { manifestFileName, type IndexManifest } from './index-manifest.js';
import { sampleEntries } from './__fixtures__/sample-entries.js';

/**
 * Fuzzes the saved docs index format: every file damaged or crafted must be refused with a
 * typed `FileFormatError`, or load and answer searches (identically, when the damage cannot
 * change what the index holds).
 */

const dimension = 16;
const queries = ['read a whole file as text', 'sha256 digest', 'server port', 'operation 3 on resource'];
let root: string;
let original: Files;
let baseline: string;
let graphLayout: { elementCount: number; elementBytes: number };
let scratchCounter = 0;

/** The files of a saved index: the manifest parsed, the data files as bytes. */
interface Files {
  manifest: IndexManifest;
  graph: Buffer;
  docstore: Buffer;
  embedder: Buffer;
}

function entries(): DocEntry[] {
  const [template] = sampleEntries();
  const extra = Array.from({ length: 14 }, (_, position) => ({
    ...template!,
    id: `demo:bulk.entry${position}`,
    name: `bulk.entry${position}`,
    documentation: `Entry number ${position} describes operation ${position % 5} on resource ${position % 3}.`,
  }));
  return [...sampleEntries(), ...extra];
}

async function readFiles(directory: string): Promise<Files> {
  const manifest = JSON.parse(await readFile(join(directory, manifestFileName), 'utf8')) as IndexManifest;
  return {
    manifest,
    graph: await readFile(join(directory, manifest.files.graph.name)),
    docstore: await readFile(join(directory, manifest.files.docstore.name)),
    embedder: await readFile(join(directory, manifest.files.embedderState!.name)),
  };
}

/** Writes `files` to a fresh directory; `sign` recomputes the manifest's names, sizes and hashes. */
async function writeFiles(files: Files, { sign, manifestBytes }: { sign: boolean; manifestBytes?: Buffer }): Promise<string> {
  const directory = join(root, `case-${scratchCounter++}`);
  const manifest: IndexManifest = structuredClone(files.manifest);
  const describe = (prefix: string, extension: string, bytes: Buffer, listed: { name: string }) => {
    if (!sign) return { ...listed, name: listed.name } as IndexManifest['files']['graph'];
    const sha256 = sha256Hex(bytes);
    return { name: `${prefix}-${sha256.slice(0, 16)}.${extension}`, sha256, bytes: bytes.length };
  };
  manifest.files = {
    graph: describe('graph', 'bin', files.graph, files.manifest.files.graph),
    docstore: describe('docstore', 'json', files.docstore, files.manifest.files.docstore),
    embedderState: describe('embedder', 'json', files.embedder, files.manifest.files.embedderState!),
  };
  await mkdir(directory, { recursive: true });
  await writeFile(join(directory, manifest.files.graph.name), files.graph);
  await writeFile(join(directory, manifest.files.docstore.name), files.docstore);
  await writeFile(join(directory, manifest.files.embedderState!.name), files.embedder);
  await writeFile(join(directory, manifestFileName), manifestBytes ?? `${JSON.stringify(manifest, null, 2)}\n`);
  return directory;
}

async function signature(index: DocsIndex): Promise<string> {
  const results = [];
  for (const query of queries) {
    for (const mode of ['hybrid', 'vector'] as const) {
      results.push((await index.search(query, { topK: 5, mode })).map((result) => [result.entry.id, result.score]));
    }
  }
  return JSON.stringify(results);
}

type Outcome = { kind: 'refused'; error: FileFormatError } | { kind: 'loaded'; signature: string };

/** Loads `directory`; any error that is not a `FileFormatError` fails the test. */
async function attempt(directory: string): Promise<Outcome> {
  try {
    const index = await DocsIndex.load(directory);
    const outcome: Outcome = { kind: 'loaded', signature: await signature(index) };
    for (const query of queries) {
      // Whatever loaded answers with its own entries only.
      for (const result of await index.search(query, { topK: 20 })) expect(index.get(result.entry.id)).toBe(result.entry);
    }
    return outcome;
  } catch (error) {
    if (!FileFormatError.isInstance(error)) throw new Error(`expected a FileFormatError, got ${String(error)}`, { cause: error });
    expect(error.code).toMatch(/^(CORRUPT|MISMATCHED|MISSING)_FILE$/);
    return { kind: 'refused', error };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** A deterministic pseudo-random sequence, so a failing case reproduces. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return state / 2 ** 32;
  };
}

function flipBit(bytes: Buffer, bit: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
  return copy;
}

/** The original docstore without its graph binding, for crafted graphs the binding would refuse anyway. */
function unboundDocstore(): Buffer {
  const parsed = JSON.parse(original.docstore.toString('utf8')) as Record<string, unknown>;
  delete parsed.graphSha256;
  return Buffer.from(JSON.stringify(parsed));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'codestack-file-format-'));
  const index = await DocsIndex.build(entries(), { dimension, hnsw: { m: 4, efConstruction: 20 } });
  // A deleted slot, so the graph holds a deletion mark too.
  index.delete('demo:bulk.entry13');
  const directory = join(root, 'original');
  await index.save(directory);
  original = await readFiles(directory);
  const loaded = await DocsIndex.load(directory);
  baseline = await signature(loaded);
  expect(baseline).toBe(await signature(index));
  graphLayout = { elementCount: Number(original.graph.readBigUInt64LE(16)), elementBytes: Number(original.graph.readBigUInt64LE(24)) };
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('DocsIndex file format', () => {
  it('loads an unchanged copy identically', async () => {
    const outcome = await attempt(await writeFiles(original, { sign: false }));
    expect(outcome).toEqual({ kind: 'loaded', signature: baseline });
  });

  it('refuses raw bit flips in any file by checksum, or loads identically (300 sampled flips)', async () => {
    const next = random(11);
    let refused = 0;
    for (let trial = 0; trial < 300; trial++) {
      const target = (['manifest', 'docstore', 'graph'] as const)[trial % 3]!;
      let outcome: Outcome;
      if (target === 'manifest') {
        const bytes = Buffer.from(`${JSON.stringify(original.manifest, null, 2)}\n`);
        outcome = await attempt(await writeFiles(original, { sign: false, manifestBytes: flipBit(bytes, Math.floor(next() * bytes.length * 8)) }));
      } else {
        const bytes = original[target];
        outcome = await attempt(await writeFiles({ ...original, [target]: flipBit(bytes, Math.floor(next() * bytes.length * 8)) }, { sign: false }));
      }
      if (outcome.kind === 'loaded') expect(outcome.signature).toBe(baseline);
      else refused++;
    }
    // Every flip in a data file breaks its checksum; most manifest flips break its JSON or a field.
    console.info(`raw flips: ${refused} of 300 refused, the rest loaded identically`);
    expect(refused).toBeGreaterThan(250);
  });

  it('refuses crafted graphs (bit flips with every checksum fixed) with FileFormatError, never a native error', async () => {
    const next = random(7);
    const docstore = unboundDocstore();
    const headerAndLinks: number[] = [];
    // Bias towards the header and each element's link list, where a flip steers native code.
    for (let trial = 0; trial < 200; trial++) {
      const region = next();
      const byte =
        region < 0.3
          ? Math.floor(next() * 96)
          : region < 0.7
            ? 96 + Math.floor(next() * graphLayout.elementCount) * graphLayout.elementBytes + Math.floor(next() * 40)
            : Math.floor(next() * original.graph.length);
      headerAndLinks.push(byte * 8 + Math.floor(next() * 8));
    }
    const counts = { refused: 0, loaded: 0 };
    for (const bit of headerAndLinks) {
      const outcome = await attempt(await writeFiles({ ...original, docstore, graph: flipBit(original.graph, bit) }, { sign: true }));
      counts[outcome.kind]++;
    }
    // Flips of a vector's low mantissa bits or of a link's spare bits may load; the rest are refused.
    console.info(`crafted graph flips: ${counts.refused} refused, ${counts.loaded} loaded`);
    expect(counts.refused).toBeGreaterThan(100);
  });

  it('refuses crafted docstores (bit flips with every checksum fixed) with FileFormatError, never a TypeError', async () => {
    const next = random(5);
    let refused = 0;
    for (let trial = 0; trial < 150; trial++) {
      const docstore = flipBit(original.docstore, Math.floor(next() * original.docstore.length * 8));
      const outcome = await attempt(await writeFiles({ ...original, docstore }, { sign: true }));
      if (outcome.kind === 'refused') refused++;
    }
    console.info(`crafted docstore flips: ${refused} of 150 refused`);
    expect(refused).toBeGreaterThan(50);
  });

  it('refuses every truncation of every file, signed or not', async () => {
    const { elementCount, elementBytes } = graphLayout;
    const graphCuts = new Set<number>([...Array.from({ length: 97 }, (_, offset) => offset)]);
    for (let element = 0; element <= elementCount; element++) graphCuts.add(96 + element * elementBytes);
    for (let cut = 96 + elementCount * elementBytes; cut < original.graph.length; cut += 4) graphCuts.add(cut);
    const docstore = unboundDocstore();
    for (const cut of graphCuts) {
      if (cut >= original.graph.length) continue;
      for (const sign of [false, true]) {
        const outcome = await attempt(await writeFiles({ ...original, docstore: sign ? docstore : original.docstore, graph: original.graph.subarray(0, cut) }, { sign }));
        expect(outcome.kind, `graph cut at ${cut}, signed ${sign}`).toBe('refused');
      }
    }
    for (let cut = 0; cut < original.docstore.length; cut += Math.max(1, Math.floor(original.docstore.length / 60))) {
      const outcome = await attempt(await writeFiles({ ...original, docstore: original.docstore.subarray(0, cut) }, { sign: true }));
      expect(outcome.kind).toBe('refused');
    }
    const manifestBytes = Buffer.from(`${JSON.stringify(original.manifest, null, 2)}\n`);
    for (let cut = 0; cut < manifestBytes.length - 1; cut += 3) {
      const outcome = await attempt(await writeFiles(original, { sign: false, manifestBytes: manifestBytes.subarray(0, cut) }));
      expect(outcome.kind).toBe('refused');
    }
  });

  it.each([
    ['ef -5', { ef: -5 }],
    ['ef 1e9', { ef: 1e9 }],
    ['ef "x"', { ef: 'x' }],
    ['ef 1.5', { ef: 1.5 }],
    ['ef null (NaN in JSON)', { ef: null }],
    ['count 1e12', { count: 1e12 }],
    ['count -1', { count: -1 }],
    ['count one more', { count: 16 }],
    ['dimension 1e9', { embedder: { id: 'x', dimension: 1e9 } }],
    ['dimension 0', { embedder: { id: 'x', dimension: 0 } }],
    ['another format version', { formatVersion: 2 }],
    ['a file outside the directory', { files: { graph: { name: '../graph-0000000000000000.bin', sha256: '0'.repeat(64), bytes: 1 } } }],
    ['a file of 1e15 bytes', { files: { graph: { name: 'graph-0000000000000000.bin', sha256: '0'.repeat(64), bytes: 1e15 } } }],
    ['an array', []],
  ])('refuses a manifest with %s', async (_, change) => {
    const manifest = Array.isArray(change) ? change : { ...original.manifest, ...change, files: { ...original.manifest.files, ...(change as Partial<IndexManifest>).files } };
    const outcome = await attempt(await writeFiles(original, { sign: false, manifestBytes: Buffer.from(JSON.stringify(manifest)) }));
    expect(outcome.kind).toBe('refused');
  });

  const u64 = (offset: number, value: bigint) => (graph: Buffer) => graph.writeBigUInt64LE(value, offset);
  it.each([
    ['max_elements 2^62 (a huge allocation)', u64(8, 2n ** 62n)],
    ['max_elements 2^20 (far above the count)', u64(8, 2n ** 20n)],
    ['cur_element_count 2^40', u64(16, 2n ** 40n)],
    ['cur_element_count one more', u64(16, 16n)],
    ['size_data_per_element 2^50', u64(24, 2n ** 50n)],
    ['label_offset off by 4', (graph: Buffer) => graph.writeBigUInt64LE(graph.readBigUInt64LE(32) + 4n, 32)],
    ['maxlevel 1e9', (graph: Buffer) => graph.writeInt32LE(1e9, 48)],
    ['enterpoint_node out of range', (graph: Buffer) => graph.writeUInt32LE(1000, 52)],
    ['maxM0 2^40', u64(64, 2n ** 40n)],
    ['M 0', u64(72, 0n)],
    ['ef_construction 2^60', u64(88, 2n ** 60n)],
    ['a neighbour id out of range', (graph: Buffer) => graph.writeUInt32LE(0xfffffff0, 96 + 4)],
    ['a level-0 list longer than maxM0', (graph: Buffer) => graph.writeUInt16LE(0xffff, 96)],
    ['an unknown element flag', (graph: Buffer) => graph.writeUInt8(7, 96 + 2)],
    ['a label never assigned', (graph: Buffer) => graph.writeBigUInt64LE(2n ** 63n, 96 + Number(graph.readBigUInt64LE(32)))],
    ['a vector of NaN', (graph: Buffer) => graph.writeFloatLE(Number.NaN, 96 + Number(graph.readBigUInt64LE(40)))],
    ['a vector scaled by 2', (graph: Buffer) => {
      const start = 96 + Number(graph.readBigUInt64LE(40));
      for (let index = 0; index < dimension; index++) graph.writeFloatLE(graph.readFloatLE(start + index * 4) * 2, start + index * 4);
    }],
    ['trailing bytes', (graph: Buffer) => graph],
  ])('refuses a signed graph with %s before hnswlib reads it', async (name, change) => {
    let graph = Buffer.from(original.graph);
    change(graph);
    if (name === 'trailing bytes') graph = Buffer.concat([graph, Buffer.alloc(8)]);
    const outcome = await attempt(await writeFiles({ ...original, docstore: unboundDocstore(), graph }, { sign: true }));
    expect(outcome.kind).toBe('refused');
  });

  const docstoreWith = (change: (docstore: Record<string, any>) => unknown): Buffer => {
    const parsed = JSON.parse(original.docstore.toString('utf8')) as Record<string, any>;
    const replaced = change(parsed);
    return Buffer.from(JSON.stringify(replaced ?? parsed));
  };
  it.each([
    ['entries as a string', (docstore: Record<string, any>) => void (docstore.entries = 'x')],
    ['no labels', (docstore: Record<string, any>) => void delete docstore.labels],
    ['a label of 1e15', (docstore: Record<string, any>) => void (docstore.labels.labels[0][1] = 1e15)],
    ['a negative nextLabel', (docstore: Record<string, any>) => void (docstore.labels.nextLabel = -1)],
    ['a label pair that is a number', (docstore: Record<string, any>) => void (docstore.labels.labels[0] = 3)],
    ['two entries with one id', (docstore: Record<string, any>) => void (docstore.entries[1].id = docstore.entries[0].id)],
    ['an entry without signatures', (docstore: Record<string, any>) => void delete docstore.entries[0].signatures],
    ['a numeric entry name', (docstore: Record<string, any>) => void (docstore.entries[0].name = 7)],
    ['an unknown kind', (docstore: Record<string, any>) => void (docstore.entries[0].kind = 'toString')],
    ['a null entry', (docstore: Record<string, any>) => void (docstore.entries[0] = null)],
    ['a null parameter', (docstore: Record<string, any>) => void (docstore.entries[0].parameters = [null])],
    ['an entry missing (one label too many)', (docstore: Record<string, any>) => void docstore.entries.pop()],
    ['labels swapped between entries', (docstore: Record<string, any>) => {
      const [first, second] = docstore.labels.labels;
      [first[1], second[1]] = [second[1], first[1]];
    }],
    ['a top-level array', () => []],
    ['the graph binding of another graph', (docstore: Record<string, any>) => void (docstore.graphSha256 = '0'.repeat(64))],
  ])('refuses a signed docstore with %s with FileFormatError', async (name, change) => {
    const outcome = await attempt(await writeFiles({ ...original, docstore: docstoreWith(change) }, { sign: true }));
    // Swapped labels point two entries at each other's vectors: every label is still one the graph
    // holds, so no check can tell; it loads (and searches without error).
    expect(outcome.kind).toBe(name === 'labels swapped between entries' ? 'loaded' : 'refused');
  });

  it.each([
    ['null', 'null'],
    ['another kind', '{"kind":"other","version":1}'],
    ['of a dimension of 1e9', 'DIMENSION'],
    ['of another embedder id', 'IDENTIFIER'],
  ])('refuses a signed embedder state that is %s with FileFormatError', async (_, text) => {
    const state = JSON.parse(original.embedder.toString('utf8')) as Record<string, unknown>;
    const bytes =
      text === 'DIMENSION'
        ? JSON.stringify({ ...state, dimension: 1e9 })
        : text === 'IDENTIFIER'
          ? JSON.stringify({ ...state, documentCount: (state.documentCount as number) + 1 })
          : text;
    const outcome = await attempt(await writeFiles({ ...original, embedder: Buffer.from(bytes) }, { sign: true }));
    expect(outcome.kind).toBe('refused');
  });

  it('refuses a graph swapped in from another index, even with the manifest re-signed', async () => {
    // Another index with as many pieces and the same labels, built from other text.
    const other = await DocsIndex.build(
      entries().map((entry) => ({ ...entry, documentation: `${entry.documentation} with other words` })),
      { dimension, hnsw: { m: 4, efConstruction: 20 } },
    );
    other.delete('demo:bulk.entry13');
    const directory = join(root, 'other');
    await other.save(directory);
    const foreign = await readFiles(directory);
    expect(foreign.graph.length).toBe(original.graph.length);
    const swapped = await attempt(await writeFiles({ ...original, graph: foreign.graph }, { sign: true }));
    expect(swapped.kind).toBe('refused');
    expect((swapped as { error: FileFormatError }).error.reason).toBe('mismatch');
    // A graph of an index with another size is refused by the graph's own header, binding or not.
    const smaller = await DocsIndex.build(entries().slice(0, 9), { dimension, hnsw: { m: 4 } });
    await smaller.save(join(root, 'smaller'));
    const small = await readFiles(join(root, 'smaller'));
    const outcome = await attempt(await writeFiles({ ...original, docstore: unboundDocstore(), graph: small.graph }, { sign: true }));
    expect(outcome.kind).toBe('refused');
    expect((outcome as { error: FileFormatError }).error.message).toMatch(/graph: holds 9 elements/);
  });

  it('loads an index saved empty', async () => {
    const empty = DocsIndex.create((await DocsIndex.load(join(root, 'original'))).embedder);
    await empty.save(join(root, 'empty'));
    expect((await DocsIndex.load(join(root, 'empty'))).size).toBe(0);
    expect(await readdir(join(root, 'empty'))).toHaveLength(4);
  });
});

describe('DocsIndex numeric options', () => {
  it.each([-5, 0, 1e9, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 'x'])('refuses ef %s on create and on search', async (ef) => {
    const index = await DocsIndex.build(sampleEntries(), { dimension });
    const created = (() => {
      try {
        DocsIndex.create(index.embedder, { ef: ef as number });
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(InvalidArgumentError.isInstance(created)).toBe(true);
    expect((created as InvalidArgumentError).argument).toBe('ef');
    for (const mode of ['hybrid', 'lexical'] as const) {
      const searched = await index.search('file', { ef: ef as number, mode }).catch((error: unknown) => error);
      expect(InvalidArgumentError.isInstance(searched)).toBe(true);
      expect((searched as CodestackError).code).toBe('INVALID_ARGUMENT');
    }
  });

  it('accepts ef at both ends of its range', async () => {
    const index = await DocsIndex.build(sampleEntries(), { dimension, ef: 1 });
    expect(index.ef).toBe(1);
    expect((await index.search('file', { ef: 10_000, topK: 3 })).length).toBe(3);
  });
});
