import type { DocEntry } from './doc-entry.js';

/**
 * The part of an entry's prompt text that comes before its documentation: a `//` line naming the
 * entry, its kind and its source (`// fs.readFileSync (function, @types/node@22.5.4 fs.d.ts:1234)`),
 * every signature, and the `@deprecated` line when the API is deprecated. The one rendering of
 * it: `entryPromptText` follows it with the documentation, and a compact prompt (the orchestrator's
 * docs-index retriever) with the summary sentence.
 */
export function entryHeader(entry: DocEntry): string {
  const source = `// ${entry.name} (${entry.kind}, ${entry.package}@${entry.packageVersion} ${entry.sourceFile}:${entry.line})`;
  const deprecated = entry.deprecated === undefined ? [] : [`@deprecated ${entry.deprecated}`.trim()];
  return [source, ...entry.signatures, ...deprecated].filter((part) => part !== '').join('\n');
}
