import type { Retriever } from '@codestack/core';
import type { CompactableDocument } from '../prompt/compact-documents.js';
import type { CodeDiagnostic } from '../validation/type-check/type-check.js';

/**
 * Queries for the APIs a type check says were misused: from `Property 'readFileSyncc' does not
 * exist on type 'typeof import("fs")'. Did you mean 'readFileSync'?` the query `fs.readFileSync`
 * (the suggestion when there is one, else the member), on the module or type named. Without a
 * suggestion the bare member is queried too (`readFileSync` asked of the wrong module finds the
 * module that has it). With the failing `code`, a call the checker faults for its arguments
 * (TS2554/2555/2345/2769: wrong arity or argument type) names its callee, resolved through the
 * code's imports (`readFile` of `import { readFile } from 'node:fs'` gives `fs.readFile`).
 */
export function diagnosticQueries(diagnostics: readonly CodeDiagnostic[], code?: string): string[] {
  const queries = new Set<string>();
  const imports = code === undefined ? new Map<string, string>() : importedNames(code);
  for (const diagnostic of diagnostics) {
    const { message } = diagnostic;
    const member = /Property '([\w$]+)' does not exist on type '([^']+)'(?:\. Did you mean '([\w$]+)'\?)?/.exec(message);
    if (member) {
      const owner =
        /typeof import\("(?:node:)?([\w/]+)"\)/.exec(member[2]!)?.[1] ??
        (code === undefined ? undefined : importedOwner(code, imports, diagnostic.line, diagnostic.column)) ??
        member[2]!.replace(/^typeof /, '').replace(/<.*$/, '');
      queries.add(`${owner.replace(/\//g, '.')}.${member[3] ?? member[1]}`);
      if (member[3] === undefined) queries.add(member[1]!);
      continue;
    }
    const exported = /(?:Module )?'"(?:node:)?([\w/]+)"' has no exported member (?:named )?'([\w$]+)'(?:\. Did you mean '([\w$]+)'\?)?/.exec(message);
    if (exported) {
      queries.add(`${exported[1]!.replace(/\//g, '.')}.${exported[3] ?? exported[2]}`);
      if (exported[3] === undefined) queries.add(exported[2]!);
      continue;
    }
    if (code !== undefined && [2345, 2554, 2555, 2769].includes(diagnostic.code)) {
      const callee = calleeAt(code, diagnostic.line, diagnostic.column);
      if (callee) {
        const [head, ...rest] = callee.split('.');
        const resolved = imports.get(head!);
        queries.add(resolved === undefined ? callee : [resolved, ...rest].join('.'));
      }
    }
  }
  return [...queries].slice(0, 4);
}

/** Local names the code imports from modules: `fs` → `fs`, `{ readFile as read }` → `read` → `fs.readFile`. */
function importedNames(code: string): Map<string, string> {
  const names = new Map<string, string>();
  const moduleName = (specifier: string): string => specifier.replace(/^node:/, '').replace(/\//g, '.');
  for (const match of code.matchAll(/import\s+(?:type\s+)?([^'";]+?)\s+from\s+['"]([^'"]+)['"]/g)) {
    const module = moduleName(match[2]!);
    const clause = match[1]!;
    const named = /\{([^}]*)\}/.exec(clause)?.[1];
    for (const part of named?.split(',') ?? []) {
      const [imported, local] = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/);
      if (imported) names.set((local ?? imported).trim(), `${module}.${imported.trim()}`);
    }
    const whole = clause.replace(/\{[^}]*\}/, '').replace(/\*\s+as\s+/, '').split(',').map((part) => part.trim()).filter(Boolean);
    for (const local of whole) names.set(local, module);
  }
  for (const match of code.matchAll(/(?:const|let|var)\s+([\w$]+)\s*=\s*require\(\s*['"]([^'"]+)['"]\s*\)/g)) names.set(match[1]!, moduleName(match[2]!));
  return names;
}

/** The module of the object whose member is at (1-based) `line`:`column` (`path` of `path.joinn` when the code imports `path`). */
function importedOwner(code: string, imports: Map<string, string>, line: number | undefined, column: number | undefined): string | undefined {
  if (line === undefined || column === undefined) return undefined;
  const before = code.split('\n')[line - 1]?.slice(0, column - 1);
  const object = before === undefined ? undefined : /((?:[\w$]+\.)*[\w$]+)\.$/.exec(before)?.[1];
  if (object === undefined) return undefined;
  const [head, ...rest] = object.split('.');
  const resolved = imports.get(head!);
  return resolved === undefined ? undefined : [resolved, ...rest].join('.');
}

/** The callee of the call at (1-based) `line`:`column`: the call starting there, else the innermost call whose arguments hold it. */
function calleeAt(code: string, line: number | undefined, column: number | undefined): string | undefined {
  if (line === undefined || column === undefined) return undefined;
  const text = code.split('\n')[line - 1];
  if (text === undefined) return undefined;
  const at = column - 1;
  const starting = /^((?:[\w$]+\.)*[\w$]+)\s*\(/.exec(text.slice(at));
  if (starting) return `${/(?:[\w$]+\.)*$/.exec(text.slice(0, at))![0]}${starting[1]}`;
  let depth = 0;
  for (let index = Math.min(at, text.length) - 1; index >= 0; index -= 1) {
    const character = text[index];
    if (character === ')') depth += 1;
    else if (character === '(') {
      if (depth === 0) return /((?:[\w$]+\.)*[\w$]+)\s*$/.exec(text.slice(0, index))?.[1];
      depth -= 1;
    }
  }
  return undefined;
}

/** What {@link retrieveRepairDocuments} found. */
export interface RepairDocuments {
  /** The queries asked, from the diagnostics and the code. */
  queries: string[];
  /** The document each query names (see `pickNamedDocument`), without repeats, in query order. */
  documents: CompactableDocument[];
}

/** Hits asked per query, among which {@link pickNamedDocument} chooses. */
const candidatesPerQuery = 5;

/**
 * The document a diagnostic query names, among a query's hits in rank order: an entry named
 * exactly the query (`fs.readFileSync`); else one whose name ends with a qualified query
 * (`crypto.Hash.digest` for `Hash.digest`); else one whose last name segment is the query's; in
 * both, the fewest name segments first
 * (the module-level `crypto.randomUUID` before the Web Crypto `crypto.webcrypto.randomUUID` for a
 * `randomUUID` asked of the wrong module); else the best hit. Fused ranks of near-equal hits are
 * close to a coin toss; the name the compiler gave is not. Documents without a `name` (retrievers
 * other than the docs index) are taken in rank order.
 */
export function pickNamedDocument(query: string, hits: readonly CompactableDocument[]): CompactableDocument | undefined {
  const member = query.slice(query.lastIndexOf('.') + 1);
  const segments = (name: string): number => name.split('.').length;
  const tier = (name: string | undefined): number => {
    if (name === undefined) return 3;
    if (name === query) return 0;
    if (query.includes('.') && name.endsWith(`.${query}`)) return 1;
    return name.slice(name.lastIndexOf('.') + 1) === member ? 2 : 3;
  };
  const ranked = hits.map((document, rank) => ({ document, rank, tier: tier(document.name) }));
  ranked.sort((a, b) => a.tier - b.tier || (a.tier === 1 || a.tier === 2 ? segments(a.document.name!) - segments(b.document.name!) : 0) || a.rank - b.rank);
  return ranked[0]?.document;
}

/**
 * The one lookup of diagnostics-driven retrieval (used by `generateCode` before a repair round and
 * by `diagnosticRetrievalMiddleware`): for each {@link diagnosticQueries} query, asks the retriever
 * once for its top hits and keeps the one the query names ({@link pickNamedDocument}), so the
 * real signature of a misspelt, misplaced or misused API can go into the repair prompt.
 */
export async function retrieveRepairDocuments(options: {
  retriever: Retriever;
  diagnostics: readonly CodeDiagnostic[];
  code?: string;
  signal?: AbortSignal;
}): Promise<RepairDocuments> {
  const queries = diagnosticQueries(options.diagnostics, options.code);
  const documents: CompactableDocument[] = [];
  for (const query of queries) {
    const hits = (await options.retriever.retrieve(query, { topK: candidatesPerQuery, ...(options.signal ? { signal: options.signal } : {}) })) as CompactableDocument[];
    const picked = pickNamedDocument(query, hits);
    if (picked !== undefined && !documents.some((known) => known.id === picked.id)) documents.push(picked);
  }
  return { queries, documents };
}
