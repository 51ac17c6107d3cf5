import { bm25TermFrequencies, defaultBm25B, defaultBm25K1 } from './bm25-term-frequencies.js';
import { identifierTokens } from './identifier-tokens.js';

/** The text fields of one document, weighted differently by {@link Bm25Index}. */
export interface Bm25Fields {
  /** Names: counted three times, so a name match outweighs a mention. */
  names: string;
  /** Signature text. */
  signatures: string;
  /** Documentation text. */
  documentation: string;
}

/** One hit of {@link Bm25Index.search}. */
export interface Bm25Hit {
  /** The document id. */
  id: string;
  /** The BM25 score. */
  score: number;
}

/** Options of {@link Bm25Index}. */
export interface Bm25Options {
  /** Term-frequency saturation. Defaults to 1.2. */
  k1?: number;
  /** Length normalisation. Defaults to 0.75. */
  b?: number;
}

/**
 * An in-memory BM25 index over names, signatures and documentation, tokenised with
 * {@link identifierTokens} so `readFileSync` matches a query for "read file sync".
 * Documents can be added, replaced and removed; removed slots are skipped at query time.
 */
export class Bm25Index {
  private readonly k1: number;
  private readonly b: number;
  private readonly postings = new Map<string, { slots: number[]; frequencies: number[] }>();
  private readonly slotIds: (string | undefined)[] = [];
  private readonly slotLengths: number[] = [];
  private readonly slotPriors: number[] = [];
  private readonly slotsById = new Map<string, number>();
  private totalLength = 0;

  constructor(options: Bm25Options = {}) {
    this.k1 = options.k1 ?? defaultBm25K1;
    this.b = options.b ?? defaultBm25B;
  }

  /** The number of live documents. */
  get size(): number {
    return this.slotsById.size;
  }

  /** Adds `id`, replacing any earlier document with that id. `prior` (default 1) scales its scores. */
  upsert(id: string, fields: Bm25Fields, prior = 1): void {
    this.delete(id);
    const counts = bm25TermFrequencies(fields);
    const slot = this.slotIds.length;
    let length = 0;
    for (const [token, count] of counts) {
      let posting = this.postings.get(token);
      if (posting === undefined) {
        posting = { slots: [], frequencies: [] };
        this.postings.set(token, posting);
      }
      posting.slots.push(slot);
      posting.frequencies.push(count);
      length += count;
    }
    this.slotIds.push(id);
    this.slotLengths.push(length);
    this.slotPriors.push(prior);
    this.slotsById.set(id, slot);
    this.totalLength += length;
  }

  /** Removes `id`; returns whether it was present. */
  delete(id: string): boolean {
    const slot = this.slotsById.get(id);
    if (slot === undefined) return false;
    this.slotsById.delete(id);
    this.slotIds[slot] = undefined;
    this.totalLength -= this.slotLengths[slot] ?? 0;
    return true;
  }

  /** The `topK` best documents for `query`, best first; `filter` is applied while scoring. */
  search(query: string, topK: number, filter?: (id: string) => boolean): Bm25Hit[] {
    const live = this.slotsById.size;
    if (live === 0 || topK <= 0) return [];
    const averageLength = this.totalLength / live;
    const scores = new Map<number, number>();
    for (const token of new Set(identifierTokens(query))) {
      const posting = this.postings.get(token);
      if (posting === undefined) continue;
      let documentFrequency = 0;
      for (const slot of posting.slots) if (this.slotIds[slot] !== undefined) documentFrequency++;
      if (documentFrequency === 0) continue;
      const idf = Math.log(1 + (live - documentFrequency + 0.5) / (documentFrequency + 0.5));
      for (let index = 0; index < posting.slots.length; index++) {
        const slot = posting.slots[index] ?? 0;
        if (this.slotIds[slot] === undefined) continue;
        const frequency = posting.frequencies[index] ?? 0;
        const length = this.slotLengths[slot] ?? 0;
        const score = (idf * frequency * (this.k1 + 1)) / (frequency + this.k1 * (1 - this.b + (this.b * length) / averageLength));
        scores.set(slot, (scores.get(slot) ?? 0) + score);
      }
    }
    const hits: Bm25Hit[] = [];
    for (const [slot, score] of scores) {
      const id = this.slotIds[slot];
      if (id === undefined || (filter !== undefined && !filter(id))) continue;
      hits.push({ id, score: score * (this.slotPriors[slot] ?? 1) });
    }
    hits.sort((left, right) => right.score - left.score || (left.id < right.id ? -1 : 1));
    return hits.slice(0, topK);
  }
}
