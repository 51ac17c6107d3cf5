import { readFileSync } from 'node:fs';

/** Counts how often each lower-cased word occurs in a text. */
export function wordFrequencies(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const word of text.toLowerCase().match(/[a-z']+/g) ?? []) counts.set(word, (counts.get(word) ?? 0) + 1);
  return counts;
}

/** The `limit` most frequent words of a UTF-8 file, most frequent first. */
export function topWords(path: string, limit: number): [string, number][] {
  const text = readFileSync(path, 'utf8');
  return [...wordFrequencies(text)].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, limit);
}
