import { createHash } from 'node:crypto';

const signatureSize = 64;
const bandSize = 4;
const shingleSize = 5;
const ignoredWords = new Set([
  'var', 'let', 'const', 'export', 'import', 'from', 'require', 'module', 'exports', 'default',
  'function', 'return', 'use', 'strict', 'Object', 'defineProperty', 'value', 'true', 'false',
]);

/** The identifier-and-literal word sequence of source code, without module-system boilerplate. */
export function contentWords(source: string): string[] {
  const words = source.match(/[A-Za-z_$][\w$]*|\d+/g) ?? [];
  return words.filter((word) => !ignoredWords.has(word));
}

/** A MinHash signature over word 5-shingles; similar files get similar signatures. */
export function minHashSignature(source: string): Uint32Array {
  const words = contentWords(source);
  const signature = new Uint32Array(signatureSize).fill(0xffffffff);
  const count = Math.max(1, words.length - shingleSize + 1);
  for (let start = 0; start < count; start += 1) {
    const shingle = words.slice(start, start + shingleSize).join(' ');
    const digest = createHash('sha1').update(shingle).digest();
    const base = digest.readUInt32LE(0);
    const step = digest.readUInt32LE(4) | 1;
    for (let index = 0; index < signatureSize; index += 1) {
      const value = (base + Math.imul(step, index + 1)) >>> 0;
      if (value < signature[index]!) signature[index] = value;
    }
  }
  return signature;
}

/** The estimated Jaccard similarity of two MinHash signatures. */
export function estimatedSimilarity(first: Uint32Array, second: Uint32Array): number {
  let equal = 0;
  for (let index = 0; index < signatureSize; index += 1) if (first[index] === second[index]) equal += 1;
  return equal / signatureSize;
}

/**
 * Returns the indexes of the items to keep: an item is dropped when an earlier kept item is a
 * near duplicate (estimated Jaccard similarity at least `threshold`). Candidates come from
 * locality-sensitive hashing over bands of the signature, so the cost stays near linear.
 */
export function keepDistinct(sources: readonly string[], threshold = 0.8): number[] {
  const signatures = sources.map((source) => minHashSignature(source));
  const buckets = new Map<string, number[]>();
  const kept: number[] = [];
  for (let index = 0; index < signatures.length; index += 1) {
    const signature = signatures[index]!;
    const keys: string[] = [];
    for (let band = 0; band < signatureSize / bandSize; band += 1) {
      keys.push(`${band}:${Array.from(signature.subarray(band * bandSize, (band + 1) * bandSize)).join(',')}`);
    }
    const candidates = new Set<number>();
    for (const key of keys) for (const other of buckets.get(key) ?? []) candidates.add(other);
    const duplicate = [...candidates].some((other) => estimatedSimilarity(signature, signatures[other]!) >= threshold);
    if (duplicate) continue;
    kept.push(index);
    for (const key of keys) {
      const bucket = buckets.get(key);
      if (bucket) bucket.push(index);
      else buckets.set(key, [index]);
    }
  }
  return kept;
}
