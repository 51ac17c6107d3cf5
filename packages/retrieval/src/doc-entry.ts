import type { Bm25Fields } from './bm25-index.js';
import { entryHeader } from './entry-header.js';

/** What kind of API a {@link DocEntry} describes. */
export type DocEntryKind =
  | 'module'
  | 'namespace'
  | 'class'
  | 'interface'
  | 'enum'
  | 'enum-member'
  | 'function'
  | 'method'
  | 'constructor'
  | 'property'
  | 'variable'
  | 'type'
  | 'markdown';

/** One `@param` tag of a documented API. */
export interface DocParameter {
  /** The parameter's name. */
  name: string;
  /** The tag's text. */
  text: string;
}

/** One searchable piece of API documentation: an exported API or a Markdown section. */
export interface DocEntry {
  /** Unique id within an index, such as `@types/node:fs.readFileSync`; chunks add `#2`, `#3`. */
  id: string;
  /** The fully qualified name, such as `fs.readFileSync` or `http.Server.listen`. */
  name: string;
  /** Other names that find this entry, such as `node:fs.readFileSync`. */
  aliases: string[];
  /** What the entry describes. */
  kind: DocEntryKind;
  /** The signature text of every overload (empty for Markdown). */
  signatures: string[];
  /** The first paragraph of the documentation. */
  summary: string;
  /** The full documentation text (for a Markdown chunk: the chunk). */
  documentation: string;
  /** `@param` tags, in order. */
  parameters: DocParameter[];
  /** The `@returns` tag, when present. */
  returns?: string;
  /** `@example` tags. */
  examples: string[];
  /** The `@deprecated` tag's text (possibly empty), when the API is deprecated. */
  deprecated?: string;
  /** The `@since` tag, when present. */
  since?: string;
  /** The package the entry comes from, such as `@types/node`. */
  package: string;
  /** That package's version. */
  packageVersion: string;
  /** The source file, relative to the package root. */
  sourceFile: string;
  /** The 1-based line of the declaration (or the chunk's first line). */
  line: number;
  /** For Markdown: the heading path of the section. */
  headingPath?: string[];
  /** When a long entry was split: this piece's 1-based position and the number of pieces. */
  chunk?: { index: number; count: number };
}

/** The names an entry is found by: its name, its aliases and its last name segment. */
export function entryNames(entry: DocEntry): string {
  const lastSegment = entry.name.slice(entry.name.lastIndexOf('.') + 1);
  return [entry.name, ...entry.aliases.slice(0, 4), lastSegment, ...(entry.headingPath ?? [])].join(' ');
}

/** All documentation text of an entry: summary, body, parameters, returns and examples. */
export function entryDocumentation(entry: DocEntry): string {
  return [
    entry.documentation,
    ...entry.parameters.map((parameter) => `${parameter.name} ${parameter.text}`),
    entry.returns ?? '',
    entry.deprecated === undefined ? '' : `deprecated ${entry.deprecated}`,
  ].join('\n');
}

/**
 * The fields an entry is indexed by in BM25: {@link entryNames}, every signature (one a line) and
 * {@link entryDocumentation}. `DocsIndex` and `PostgresDocsStore` index their pieces by these, with
 * {@link entryPrior} as the prior; a `Bm25Index` given the same ranks entries as they do.
 */
export function entryBm25Fields(entry: DocEntry): Bm25Fields {
  return { names: entryNames(entry), signatures: entry.signatures.join('\n'), documentation: entryDocumentation(entry) };
}

/**
 * The text of an entry to put into a prompt: its `entryHeader` (a line with name, kind and source,
 * every signature, the `@deprecated` line), then the documentation (for a split entry, this piece's part).
 */
export function entryPromptText(entry: DocEntry): string {
  return [entryHeader(entry), entry.documentation].filter((part) => part !== '').join('\n');
}

/** The text an embedder sees for an entry: the name, the first signature and the documentation. */
export function entryEmbeddingText(entry: DocEntry): string {
  const signature = entry.signatures[0] ?? '';
  return `${entry.name}\n${signature.slice(0, 240)}\n${entry.documentation.slice(0, 1500)}`;
}

const kindPriors: Record<DocEntryKind, number> = {
  module: 0.9,
  namespace: 0.8,
  class: 1,
  interface: 0.75,
  enum: 0.8,
  'enum-member': 0.6,
  function: 1,
  method: 1,
  constructor: 0.8,
  property: 0.8,
  variable: 0.95,
  type: 0.7,
  markdown: 1,
};

/**
 * A document prior in (0, 1] that ranking multiplies into scores: callable APIs and classes
 * beat option-bag properties, undocumented entries and deeply nested names rank lower, and
 * deprecated APIs give way to their replacements.
 */
export function entryPrior(entry: DocEntry): number {
  let prior = kindPriors[entry.kind];
  if (entry.documentation.trim() === '') prior *= 0.75;
  const segments = entry.kind === 'markdown' ? [] : entry.name.split('.');
  const owner = segments.length >= 2 ? (segments[segments.length - 2] ?? '') : '';
  if (/(Options|Opts|Type|Parameters|Returns|Info|Headers|Settings|Details|Result)$/.test(owner)) prior *= 0.8;
  if (segments.length > 3) prior *= 0.9 ** (segments.length - 3);
  if (entry.deprecated !== undefined) prior *= 0.85;
  return prior;
}
