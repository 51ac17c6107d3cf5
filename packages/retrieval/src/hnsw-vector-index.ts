import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import hnswlib from 'hnswlib-node';
import type { VectorIndex, VectorSearchHit, VectorSearchOptions } from '@codestack/core';
import { FileFormatError, InvalidArgumentError } from '@codestack/core';
import { EmbedderMismatchError } from './embedder-mismatch-error.js';

/** Options of {@link HnswVectorIndex}. */
export interface HnswVectorIndexOptions {
  /** Initial capacity; the index doubles it when full. Defaults to 1024. */
  initialCapacity?: number;
  /** Graph degree `M`. Defaults to 16. */
  m?: number;
  /** Candidate list size while building. Defaults to 200. */
  efConstruction?: number;
  /** Random seed of level assignment, for reproducible graphs. Defaults to 100. */
  randomSeed?: number;
  /** Default search `ef`. Defaults to {@link defaultSearchEf}. */
  ef?: number;
}

/**
 * The default search `ef` (hnswlib's own default is 10). Chosen from the recall of HNSW
 * against exact search over real `@types/node` embeddings measured by `src/bench.ts`.
 */
export const defaultSearchEf = 64;

/** The largest search `ef` accepted (a larger candidate list only costs time and memory). */
export const maximumSearchEf = 10_000;
/** The largest vector dimension accepted. */
export const maximumDimension = 65_536;
/** The largest graph degree `M` accepted. */
export const maximumGraphDegree = 128;
/** The largest construction `ef` accepted. */
export const maximumConstructionEf = 10_000;
/** The most vectors one index holds (its capacity is allocated up front). */
export const maximumCapacity = 1 << 24;

/**
 * Checks that `value` is an integer in `[minimum, maximum]`.
 * @throws InvalidArgumentError naming `argument` otherwise (also for `NaN`, infinities and non-numbers).
 */
export function checkIntegerInRange(value: unknown, argument: string, minimum: number, maximum: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum || value > maximum) {
    throw new InvalidArgumentError({ argument, message: `must be an integer in [${minimum}, ${maximum}], got ${describeValue(value)}` });
  }
  return value;
}

function describeValue(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : String(value);
}

/** The label table saved beside an hnswlib file. */
export interface HnswLabels {
  /** `[id, label]` pairs of live vectors. */
  labels: [string, number][];
  /** The next unused label. */
  nextLabel: number;
  /** The number of deleted slots hnswlib may reuse. */
  deletedCount: number;
}

/**
 * A cosine {@link VectorIndex} on hnswlib-node with string ids. Deletes use `markDelete` and
 * later inserts reuse the deleted slots (`replaceDeleted`); the index resizes itself when full.
 * Filters run inside hnswlib's `searchKnn` through its filter callback.
 */
export class HnswVectorIndex implements VectorIndex {
  /** The vector length. */
  readonly dimension: number;
  private searchEf: number;
  private index: hnswlib.HierarchicalNSW;
  private readonly labelsById = new Map<string, number>();
  private readonly idsByLabel = new Map<number, string>();
  private nextLabel = 0;
  private deletedCount = 0;

  /**
   * An empty index.
   * @throws InvalidArgumentError when `dimension` or an option is not an integer in its range
   * (`ef` in [1, {@link maximumSearchEf}], `m` in [2, {@link maximumGraphDegree}], `efConstruction`
   * in [1, {@link maximumConstructionEf}], `initialCapacity` in [1, {@link maximumCapacity}]).
   */
  constructor(dimension: number, options: HnswVectorIndexOptions = {}) {
    checkIntegerInRange(dimension, 'dimension', 1, maximumDimension);
    this.dimension = dimension;
    this.searchEf = checkIntegerInRange(options.ef ?? defaultSearchEf, 'ef', 1, maximumSearchEf);
    const initialCapacity = checkIntegerInRange(options.initialCapacity ?? 1024, 'initialCapacity', 1, maximumCapacity);
    const m = checkIntegerInRange(options.m ?? 16, 'm', 2, maximumGraphDegree);
    const efConstruction = checkIntegerInRange(options.efConstruction ?? 200, 'efConstruction', 1, maximumConstructionEf);
    const randomSeed = checkIntegerInRange(options.randomSeed ?? 100, 'randomSeed', 0, 2 ** 31 - 1);
    this.index = new hnswlib.HierarchicalNSW('cosine', dimension);
    this.index.initIndex({ maxElements: Math.max(16, initialCapacity), m, efConstruction, randomSeed, allowReplaceDeleted: true });
  }

  /** The default search `ef`, an integer in [1, {@link maximumSearchEf}]. */
  get ef(): number {
    return this.searchEf;
  }

  set ef(value: number) {
    this.searchEf = checkIntegerInRange(value, 'ef', 1, maximumSearchEf);
  }

  /** The number of live vectors. */
  get size(): number {
    return this.labelsById.size;
  }

  /** The current capacity (grows automatically). */
  get capacity(): number {
    return this.index.getMaxElements();
  }

  /** Whether `id` is present. */
  has(id: string): boolean {
    return this.labelsById.has(id);
  }

  /** The ids of all live vectors. */
  ids(): string[] {
    return [...this.labelsById.keys()];
  }

  /** The stored (normalised) vector of `id`. */
  vectorOf(id: string): Float32Array | undefined {
    const label = this.labelsById.get(id);
    return label === undefined ? undefined : Float32Array.from(this.index.getPoint(label));
  }

  /**
   * Adds or replaces the vector of `id`.
   * @throws EmbedderMismatchError when `vector` has the wrong length.
   */
  upsert(id: string, vector: Float32Array): void {
    this.checkVector(vector);
    const point = Array.from(vector);
    const existing = this.labelsById.get(id);
    if (existing !== undefined) {
      this.index.addPoint(point, existing);
      return;
    }
    const reuse = this.deletedCount > 0;
    if (!reuse && this.index.getCurrentCount() >= this.index.getMaxElements()) {
      this.index.resizeIndex(Math.max(16, this.index.getMaxElements() * 2));
    }
    const label = this.nextLabel++;
    this.index.addPoint(point, label, reuse);
    if (reuse) this.deletedCount--;
    this.labelsById.set(id, label);
    this.idsByLabel.set(label, id);
  }

  /** Marks `id` deleted; its slot is reused by a later insert. Returns whether it was present. */
  delete(id: string): boolean {
    const label = this.labelsById.get(id);
    if (label === undefined) return false;
    this.index.markDelete(label);
    this.labelsById.delete(id);
    this.idsByLabel.delete(label);
    this.deletedCount++;
    return true;
  }

  /**
   * The `topK` nearest vectors by cosine similarity, most similar first.
   * @throws EmbedderMismatchError when `query` has the wrong length.
   */
  search(query: Float32Array, options: VectorSearchOptions): VectorSearchHit[] {
    this.checkVector(query);
    const ef = options.ef === undefined ? this.searchEf : checkIntegerInRange(options.ef, 'ef', 1, maximumSearchEf);
    const topK = Math.min(options.topK, this.size);
    if (topK <= 0) return [];
    this.index.setEf(Math.max(ef, topK));
    const filter = options.filter;
    const result = this.index.searchKnn(
      Array.from(query),
      topK,
      filter === undefined
        ? (label) => this.idsByLabel.has(label)
        : (label) => {
            const id = this.idsByLabel.get(label);
            return id !== undefined && filter(id);
          },
    );
    const hits: VectorSearchHit[] = [];
    for (let index = 0; index < result.neighbors.length; index++) {
      const id = this.idsByLabel.get(result.neighbors[index] ?? -1);
      if (id !== undefined) hits.push({ id, similarity: 1 - (result.distances[index] ?? 1) });
    }
    return hits;
  }

  /**
   * Serialises the graph to bytes (through a temporary file in `scratchDirectory`). The header's
   * capacity is written as the element count, so a loaded graph allocates only what it holds.
   */
  async toBytes(scratchDirectory: string): Promise<Buffer> {
    const path = join(scratchDirectory, `.hnsw-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    try {
      await this.index.writeIndex(path);
      const bytes = await readFile(path);
      bytes.writeBigUInt64LE(bytes.readBigUInt64LE(graphHeaderOffsets.elementCount), graphHeaderOffsets.capacity);
      return bytes;
    } finally {
      await rm(path, { force: true });
    }
  }

  /** The label table to save beside the graph. */
  labels(): HnswLabels {
    return { labels: [...this.labelsById], nextLabel: this.nextLabel, deletedCount: this.deletedCount };
  }

  /**
   * Restores an index from graph bytes written by {@link HnswVectorIndex.toBytes} and its labels.
   * The bytes are checked by {@link checkHnswGraph} against `dimension` and `labels` before
   * hnswlib sees them (a crafted graph can crash native code), then loaded from a private copy.
   * @throws FileFormatError (naming `path`) when the graph is malformed or belongs to another index.
   */
  static async fromBytes(
    bytes: Buffer,
    path: string,
    dimension: number,
    labels: HnswLabels,
    options: HnswVectorIndexOptions = {},
  ): Promise<HnswVectorIndex> {
    checkHnswGraph(bytes, { path, dimension, labels });
    const vectorIndex = new HnswVectorIndex(dimension, { ...options, initialCapacity: 16 });
    const index = new hnswlib.HierarchicalNSW('cosine', dimension);
    // hnswlib reads only from a path. Where /proc/self/fd exists, the private copy loses its name
    // right after it is opened and hnswlib reads it through the descriptor, so a process killed
    // mid-load leaves no copy behind; elsewhere the named copy is removed when the load ends.
    const scratch = await mkdtemp(join(tmpdir(), 'codestack-hnsw-'));
    const copy = join(scratch, 'graph.bin');
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    try {
      handle = await open(copy, 'w+', 0o600);
      const anonymous = existsSync(`/proc/self/fd/${handle.fd}`);
      if (anonymous) await rm(scratch, { recursive: true, force: true });
      await handle.writeFile(bytes);
      await index.readIndex(anonymous ? `/proc/self/fd/${handle.fd}` : copy, true);
    } catch (cause) {
      throw new FileFormatError({ path, reason: 'corrupt', message: `hnswlib refused the graph: ${cause instanceof Error ? cause.message : String(cause)}`, cause });
    } finally {
      await handle?.close();
      await rm(scratch, { recursive: true, force: true });
    }
    // hnswlib reads an index saved empty with a capacity of 0.
    if (index.getMaxElements() < 16) index.resizeIndex(16);
    vectorIndex.index = index;
    for (const [id, label] of labels.labels) {
      vectorIndex.labelsById.set(id, label);
      vectorIndex.idsByLabel.set(label, id);
    }
    vectorIndex.nextLabel = labels.nextLabel;
    vectorIndex.deletedCount = labels.deletedCount;
    return vectorIndex;
  }

  /** Restores an index from a graph file written by {@link HnswVectorIndex.toBytes}; see {@link HnswVectorIndex.fromBytes}. */
  static async fromFile(path: string, dimension: number, labels: HnswLabels, options: HnswVectorIndexOptions = {}): Promise<HnswVectorIndex> {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (cause) {
      throw new FileFormatError({ path, reason: 'missing', message: 'the graph file cannot be read', cause });
    }
    return HnswVectorIndex.fromBytes(bytes, path, dimension, labels, options);
  }

  private checkVector(vector: Float32Array): void {
    if (vector.length !== this.dimension) {
      throw new EmbedderMismatchError({
        expected: `dimension ${this.dimension}`,
        message: `Vector has ${vector.length} dimensions but the index holds ${this.dimension}-dimensional vectors`,
      });
    }
  }
}

/** Byte offsets of the fields of hnswlib's graph file header (little-endian, 64-bit `size_t`). */
const graphHeaderOffsets = {
  levelZeroOffset: 0,
  capacity: 8,
  elementCount: 16,
  elementBytes: 24,
  labelOffset: 32,
  dataOffset: 40,
  maximumLevel: 48,
  entryPoint: 52,
  maximumDegree: 56,
  maximumDegreeZero: 64,
  degree: 72,
  levelMultiplier: 80,
  constructionEf: 88,
} as const;
/** The length of hnswlib's graph file header. */
const graphHeaderBytes = 96;
/** hnswlib's `enterpoint_node` of an empty graph (`-1` as an unsigned 32-bit integer). */
const noEntryPoint = 0xffffffff;
/** hnswlib's deepest level in practice is about log(n)/log(M); anything above this is crafted. */
const maximumGraphLevel = 64;

/** The header of an hnswlib graph file, as checked by {@link checkHnswGraph}. */
export interface HnswGraphHeader {
  /** `max_elements`: the capacity hnswlib allocates on load. */
  capacity: number;
  /** `cur_element_count`: live and deleted elements. */
  elementCount: number;
  /** `size_data_per_element`: bytes of one element's level-0 record. */
  elementBytes: number;
  /** `maxlevel`: the top level (-1 when empty). */
  maximumLevel: number;
  /** `enterpoint_node`: the element searches start from. */
  entryPoint: number;
  /** `M`: the graph degree. */
  degree: number;
  /** `ef_construction`. */
  constructionEf: number;
}

/** What a graph file must agree with: see {@link checkHnswGraph}. */
export interface HnswGraphExpectations {
  /** The file's path, named by the errors. */
  path: string;
  /** The vector dimension of the index. */
  dimension: number;
  /** The label table saved beside the graph. */
  labels: HnswLabels;
}

/**
 * Checks an hnswlib graph file completely before native code reads it: every header field
 * (offsets, capacity, count, degree, levels, entry point) bounded and consistent with `dimension`,
 * the exact file length, every link list's length and neighbour ids, every vector finite and of
 * unit (or zero) length, and the live labels equal to `labels` (so a graph from another index
 * is refused).
 * @throws FileFormatError `corrupt` when the file is malformed, `mismatch` when it belongs to another index.
 */
export function checkHnswGraph(bytes: Buffer, expectations: HnswGraphExpectations): HnswGraphHeader {
  const { path, dimension } = expectations;
  const corrupt = (message: string): FileFormatError => new FileFormatError({ path, reason: 'corrupt', message: `graph: ${message}` });
  const mismatch = (message: string): FileFormatError => new FileFormatError({ path, reason: 'mismatch', message: `graph: ${message}` });
  const labels = checkHnswLabels(expectations.labels, path);
  if (bytes.length < graphHeaderBytes) throw corrupt(`${bytes.length} bytes is shorter than the ${graphHeaderBytes}-byte header`);
  const size = (offset: number, name: string, maximum: number): number => {
    const value = bytes.readBigUInt64LE(offset);
    if (value > BigInt(maximum)) throw corrupt(`${name} ${value} exceeds ${maximum}`);
    return Number(value);
  };
  if (size(graphHeaderOffsets.levelZeroOffset, 'offsetLevel0', 0) !== 0) throw corrupt('offsetLevel0 is not 0');
  const elementCount = size(graphHeaderOffsets.elementCount, 'cur_element_count', maximumCapacity);
  const capacity = size(graphHeaderOffsets.capacity, 'max_elements', maximumCapacity);
  const expectedCount = labels.labels.length + labels.deletedCount;
  if (elementCount !== expectedCount) {
    throw mismatch(`holds ${elementCount} elements, the docstore's labels ${labels.labels.length} live and ${labels.deletedCount} deleted`);
  }
  if (capacity < elementCount || capacity > elementCount + Math.max(elementCount, 4096)) {
    throw corrupt(`max_elements ${capacity} is out of range for ${elementCount} elements`);
  }
  const degree = size(graphHeaderOffsets.degree, 'M', maximumGraphDegree);
  if (degree < 2) throw corrupt(`M ${degree} is below 2`);
  if (size(graphHeaderOffsets.maximumDegree, 'maxM', maximumGraphDegree) !== degree) throw corrupt('maxM differs from M');
  if (size(graphHeaderOffsets.maximumDegreeZero, 'maxM0', 2 * maximumGraphDegree) !== 2 * degree) throw corrupt('maxM0 is not 2M');
  const constructionEf = size(graphHeaderOffsets.constructionEf, 'ef_construction', maximumConstructionEf);
  if (constructionEf < 1) throw corrupt('ef_construction is 0');
  const multiplier = bytes.readDoubleLE(graphHeaderOffsets.levelMultiplier);
  if (!(Math.abs(multiplier - 1 / Math.log(degree)) < 1e-9)) throw corrupt(`mult ${multiplier} is not 1/ln(M)`);
  const levelZeroLinkBytes = 2 * degree * 4 + 4;
  const upperLinkBytes = degree * 4 + 4;
  const vectorBytes = dimension * 4;
  const elementBytes = levelZeroLinkBytes + vectorBytes + 8;
  if (size(graphHeaderOffsets.dataOffset, 'offsetData', Number.MAX_SAFE_INTEGER) !== levelZeroLinkBytes) throw corrupt('offsetData does not match M');
  if (size(graphHeaderOffsets.labelOffset, 'label_offset', Number.MAX_SAFE_INTEGER) !== levelZeroLinkBytes + vectorBytes) {
    throw mismatch(`label_offset does not match dimension ${dimension}`);
  }
  if (size(graphHeaderOffsets.elementBytes, 'size_data_per_element', Number.MAX_SAFE_INTEGER) !== elementBytes) {
    throw mismatch(`size_data_per_element does not match dimension ${dimension} and M ${degree}`);
  }
  const maximumLevel = bytes.readInt32LE(graphHeaderOffsets.maximumLevel);
  const entryPoint = bytes.readUInt32LE(graphHeaderOffsets.entryPoint);
  if (elementCount === 0) {
    if (maximumLevel !== -1 || entryPoint !== noEntryPoint) throw corrupt('an empty graph has a level or an entry point');
  } else if (maximumLevel < 0 || maximumLevel > maximumGraphLevel || entryPoint >= elementCount) {
    throw corrupt(`maxlevel ${maximumLevel} or enterpoint_node ${entryPoint} is out of range`);
  }
  const levelZeroEnd = graphHeaderBytes + elementCount * elementBytes;
  if (bytes.length < levelZeroEnd) throw corrupt(`truncated: ${bytes.length} bytes, the elements need ${levelZeroEnd}`);

  // Upper levels: element i's level is its link list size over the per-level size.
  const levels = new Int32Array(elementCount);
  const upperOffsets = new Float64Array(elementCount);
  let offset = levelZeroEnd;
  let topLevel = -1;
  for (let element = 0; element < elementCount; element++) {
    if (offset + 4 > bytes.length) throw corrupt(`truncated in the link lists of element ${element}`);
    const linkBytes = bytes.readUInt32LE(offset);
    offset += 4;
    if (linkBytes % upperLinkBytes !== 0) throw corrupt(`element ${element}'s link lists are ${linkBytes} bytes, not a multiple of ${upperLinkBytes}`);
    const level = linkBytes / upperLinkBytes;
    if (level > maximumLevel) throw corrupt(`element ${element} has level ${level} above maxlevel ${maximumLevel}`);
    if (offset + linkBytes > bytes.length) throw corrupt(`truncated in the link lists of element ${element}`);
    levels[element] = level;
    upperOffsets[element] = offset;
    topLevel = Math.max(topLevel, level);
    offset += linkBytes;
  }
  if (offset !== bytes.length) throw corrupt(`${bytes.length - offset} bytes follow the last link list`);
  if (elementCount > 0 && (topLevel !== maximumLevel || levels[entryPoint] !== maximumLevel)) {
    throw corrupt(`maxlevel ${maximumLevel} is not the top level ${topLevel} of the entry point`);
  }
  const checkNeighbours = (start: number, maximumCount: number, element: number, level: number): void => {
    const count = bytes.readUInt16LE(start);
    if (count > maximumCount) throw corrupt(`element ${element} has ${count} neighbours at level ${level}, above ${maximumCount}`);
    for (let index = 0; index < count; index++) {
      const neighbour = bytes.readUInt32LE(start + 4 + index * 4);
      if (neighbour >= elementCount || (levels[neighbour] as number) < level) {
        throw corrupt(`element ${element} links to element ${neighbour}, absent at level ${level}`);
      }
    }
  };

  const liveLabels = new Map(labels.labels.map(([id, label]) => [label, id]));
  const seenLabels = new Set<number>();
  let deleted = 0;
  for (let element = 0; element < elementCount; element++) {
    const base = graphHeaderBytes + element * elementBytes;
    const flags = bytes.readUInt8(base + 2);
    if (flags > 1 || bytes.readUInt8(base + 3) !== 0) throw corrupt(`element ${element} has unknown flags`);
    checkNeighbours(base, 2 * degree, element, 0);
    for (let level = 1; level <= (levels[element] as number); level++) {
      checkNeighbours((upperOffsets[element] as number) + (level - 1) * upperLinkBytes, degree, element, level);
    }
    let squaredNorm = 0;
    for (let index = 0; index < dimension; index++) {
      const value = bytes.readFloatLE(base + levelZeroLinkBytes + index * 4);
      if (!Number.isFinite(value)) throw corrupt(`element ${element}'s vector is not finite`);
      squaredNorm += value * value;
    }
    if (squaredNorm !== 0 && Math.abs(squaredNorm - 1) > 1e-3) throw corrupt(`element ${element}'s vector is not normalised`);
    const label = bytes.readBigUInt64LE(base + levelZeroLinkBytes + vectorBytes);
    if (label >= BigInt(labels.nextLabel)) throw mismatch(`element ${element}'s label ${label} was never assigned`);
    const numeric = Number(label);
    if (flags === 1) {
      deleted++;
      if (liveLabels.has(numeric)) throw mismatch(`label ${numeric} is deleted in the graph but live in the docstore`);
    } else {
      if (!liveLabels.has(numeric) || seenLabels.has(numeric)) throw mismatch(`label ${numeric} is not one live docstore label`);
      seenLabels.add(numeric);
    }
  }
  if (deleted !== labels.deletedCount || seenLabels.size !== liveLabels.size) {
    throw mismatch(`holds ${seenLabels.size} live and ${deleted} deleted elements, the docstore ${liveLabels.size} and ${labels.deletedCount}`);
  }
  return { capacity, elementCount, elementBytes, maximumLevel, entryPoint, degree, constructionEf };
}

/**
 * Checks the shape of a label table read from a file: `[id, label]` pairs with unique string ids
 * and unique integer labels below `nextLabel`, and integer counts in range.
 * @throws FileFormatError `corrupt` naming `path` otherwise.
 */
export function checkHnswLabels(value: unknown, path: string): HnswLabels {
  const corrupt = (message: string): FileFormatError => new FileFormatError({ path, reason: 'corrupt', message: `labels: ${message}` });
  const table = value as Partial<HnswLabels> | null;
  if (typeof table !== 'object' || table === null || !Array.isArray(table.labels)) throw corrupt('not a label table');
  const { nextLabel, deletedCount } = table;
  if (typeof nextLabel !== 'number' || !Number.isInteger(nextLabel) || nextLabel < 0 || nextLabel > Number.MAX_SAFE_INTEGER) throw corrupt('nextLabel is not a safe integer');
  if (typeof deletedCount !== 'number' || !Number.isInteger(deletedCount) || deletedCount < 0 || deletedCount > maximumCapacity) {
    throw corrupt('deletedCount is out of range');
  }
  if (table.labels.length > maximumCapacity) throw corrupt('too many labels');
  const ids = new Set<string>();
  const numbers = new Set<number>();
  for (const pair of table.labels as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') throw corrupt('a label is not an [id, label] pair');
    const [id, label] = pair as [string, unknown];
    if (typeof label !== 'number' || !Number.isInteger(label) || label < 0 || label >= nextLabel) throw corrupt(`the label of ${JSON.stringify(id.slice(0, 80))} is out of range`);
    if (ids.has(id) || numbers.has(label)) throw corrupt(`${JSON.stringify(id.slice(0, 80))} or its label is listed twice`);
    ids.add(id);
    numbers.add(label);
  }
  return table as HnswLabels;
}
