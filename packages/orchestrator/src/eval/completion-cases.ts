import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { FileFormatError, InvalidArgumentError } from '@codestack/core';

/** One held-out source file to draw completion cases from. */
export interface CompletionSource {
  /** Where it came from (a path, or the `path` field of a JSONL row). */
  path: string;
  /** The file's text. */
  text: string;
}

/** What a completion case asks the model to continue with. */
export type CompletionCaseKind = 'next-line' | 'next-identifier';

/** One scored completion: the model continues `prefix`, and the case passes when it produces `expected`. */
export interface CompletionCase {
  /** The kind of case. */
  kind: CompletionCaseKind;
  /** The source file's path. */
  path: string;
  /** The 1-based line the expected text sits on. */
  line: number;
  /** Everything of the file before the expected text. */
  prefix: string;
  /**
   * The expected text. For `next-line`, the whole line (compared without surrounding whitespace);
   * for `next-identifier`, the identifier together with the one character before it (a space or
   * `.`), because BPE encoders join that character with the identifier into one token.
   */
  expected: string;
  /** For `next-identifier`: the identifier alone. */
  identifier?: string;
}

/** Options of {@link buildCompletionCases}. */
export interface BuildCompletionCasesOptions {
  /** Lines sampled per file (each gives one case of each kind where possible). Default 4. */
  casesPerFile?: number;
  /** Lines of a file before the first sampled one, so every prefix has context. Default 4. */
  minimumPrefixLines?: number;
}

const sourceExtensions = new Set(['.js', '.mjs', '.cjs', '.jsx', '.ts', '.mts', '.cts', '.tsx']);

/** Words of JavaScript and TypeScript that are not identifiers a completion could get right by knowing an API. */
const keywords = new Set(
  (
    'abstract any as async await boolean break case catch class const constructor continue debugger declare default delete do else enum export extends ' +
    'false finally for from function get if implements import in instanceof interface is keyof let module namespace never new null number object of ' +
    'package private protected public readonly require return set static string super switch symbol this throw true try type typeof undefined unique ' +
    'unknown var void while with yield'
  ).split(' '),
);

/**
 * Reads held-out sources: a directory (its JavaScript and TypeScript files, recursively, skipping
 * `node_modules`), a JSONL file of `{ "path", "text" }` rows (the corpus split format), or one
 * source file.
 */
export async function readCompletionSources(path: string): Promise<CompletionSource[]> {
  let information;
  try {
    information = await stat(path);
  } catch (error) {
    throw new FileFormatError({ path, reason: 'missing', message: 'no such file or directory', cause: error });
  }
  if (information.isDirectory()) {
    const sources: CompletionSource[] = [];
    const walk = async (directory: string): Promise<void> => {
      const entries = await readdir(directory, { withFileTypes: true });
      entries.sort((left, right) => (left.name < right.name ? -1 : left.name > right.name ? 1 : 0));
      for (const entry of entries) {
        const full = join(directory, entry.name);
        if (entry.isDirectory()) {
          if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) await walk(full);
        } else if (entry.isFile() && sourceExtensions.has(extname(entry.name)) && !entry.name.endsWith('.d.ts')) {
          sources.push({ path: relative(path, full), text: await readFile(full, 'utf8') });
        }
      }
    };
    await walk(path);
    return sources;
  }
  const text = await readFile(path, 'utf8');
  if (!path.endsWith('.jsonl')) return [{ path, text }];
  return text
    .split('\n')
    .map((line, index) => ({ line: line.trim(), index }))
    .filter(({ line }) => line.length > 0)
    .map(({ line, index }) => {
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (error) {
        throw new FileFormatError({ path, reason: 'corrupt', message: `line ${index + 1} is not JSON`, cause: error });
      }
      const record = row as { path?: unknown; text?: unknown };
      if (typeof record !== 'object' || record === null || typeof record.text !== 'string') {
        throw new FileFormatError({ path, reason: 'corrupt', message: `line ${index + 1} has no "text" string` });
      }
      return { path: typeof record.path === 'string' ? record.path : `${path}:${index + 1}`, text: record.text };
    });
}

function isScorableLine(line: string): boolean {
  const trimmed = line.trim();
  if (trimmed.length < 4 || trimmed.length > 160) return false;
  if (/^(\/\/|\/\*|\*|#!)/.test(trimmed)) return false;
  return /[A-Za-z_$]/.test(trimmed);
}

/** The first identifier of `line` outside strings and comments that is not a keyword, as [start, end). */
function firstIdentifier(line: string): [number, number] | undefined {
  let quote: string | undefined;
  for (let index = 0; index < line.length; index += 1) {
    const character = line[index]!;
    if (quote !== undefined) {
      if (character === '\\') index += 1;
      else if (character === quote) quote = undefined;
      continue;
    }
    if (character === '"' || character === "'" || character === '`') {
      quote = character;
      continue;
    }
    if (character === '/' && line[index + 1] === '/') return undefined;
    if (/[A-Za-z_$]/.test(character) && (index === 0 || !/[\w$]/.test(line[index - 1]!))) {
      let end = index + 1;
      while (end < line.length && /[\w$]/.test(line[end]!)) end += 1;
      const word = line.slice(index, end);
      if (!keywords.has(word) && word.length >= 2) return [index, end];
      index = end - 1;
    }
  }
  return undefined;
}

/**
 * Draws completion cases from sources, deterministically: per file, up to `casesPerFile` lines
 * spread evenly over its scorable lines (code lines of 4 to 160 characters that are not
 * comments). Each sampled line gives a `next-line` case (prefix ends at the line's start) and,
 * when the line holds a non-keyword identifier outside strings, a `next-identifier` case.
 */
export function buildCompletionCases(sources: readonly CompletionSource[], options: BuildCompletionCasesOptions = {}): CompletionCase[] {
  const casesPerFile = options.casesPerFile ?? 4;
  const minimumPrefixLines = options.minimumPrefixLines ?? 4;
  if (!Number.isInteger(casesPerFile) || casesPerFile < 1) throw new InvalidArgumentError({ argument: 'casesPerFile', message: `expected a positive integer, got ${casesPerFile}` });
  const cases: CompletionCase[] = [];
  for (const source of sources) {
    const lines = source.text.replace(/\r\n/g, '\n').split('\n');
    const starts: number[] = [];
    let offset = 0;
    for (const line of lines) {
      starts.push(offset);
      offset += line.length + 1;
    }
    const text = lines.join('\n');
    const candidates = lines.map((line, index) => index).filter((index) => index >= minimumPrefixLines && isScorableLine(lines[index]!));
    if (candidates.length === 0) continue;
    const count = Math.min(casesPerFile, candidates.length);
    for (let pick = 0; pick < count; pick += 1) {
      const index = candidates[Math.floor(((pick + 0.5) * candidates.length) / count)]!;
      const line = lines[index]!;
      cases.push({ kind: 'next-line', path: source.path, line: index + 1, prefix: text.slice(0, starts[index]), expected: line });
      const identifier = firstIdentifier(line);
      if (identifier === undefined) continue;
      const [start, end] = identifier;
      // The character before the identifier (a space, '.', '(' ...) belongs to its token; start there.
      const cut = start > 0 ? start - 1 : start;
      cases.push({
        kind: 'next-identifier',
        path: source.path,
        line: index + 1,
        prefix: text.slice(0, starts[index]! + cut),
        expected: line.slice(cut, end),
        identifier: line.slice(start, end),
      });
    }
  }
  return cases;
}

/** Whether `completion` gets `testCase` right: the same line (ignoring surrounding whitespace), or the same identifier, not a longer one. */
export function isExactCompletion(testCase: CompletionCase, completion: string): boolean {
  if (testCase.kind === 'next-line') return completion.split('\n')[0]!.trim() === testCase.expected.trim();
  if (!completion.startsWith(testCase.expected)) return false;
  const next = completion[testCase.expected.length];
  return next === undefined || !/[\w$]/.test(next);
}

/** Levenshtein distance over UTF-16 code units, in O(min(a, b)) memory. */
function editDistance(left: string, right: string): number {
  if (left.length < right.length) [left, right] = [right, left];
  let previous = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let row = 1; row <= left.length; row += 1) {
    const current = [row];
    for (let column = 1; column <= right.length; column += 1) {
      const substitution = previous[column - 1]! + (left[row - 1] === right[column - 1] ? 0 : 1);
      current.push(Math.min(substitution, previous[column]! + 1, current[column - 1]! + 1));
    }
    previous = current;
  }
  return previous[right.length]!;
}

/**
 * How close `completion` comes to `testCase`, from 0 to 1: one minus the edit distance over the
 * longer length (the CodeXGLUE line-level "edit similarity"). Lines are compared without
 * surrounding whitespace; an identifier case compares the expected text with as many leading
 * characters of the completion as it has, plus the rest of an identifier the completion runs on with.
 */
export function completionSimilarity(testCase: CompletionCase, completion: string): number {
  let expected: string;
  let actual: string;
  if (testCase.kind === 'next-line') {
    expected = testCase.expected.trim();
    actual = completion.split('\n')[0]!.trim();
  } else {
    expected = testCase.expected;
    const head = completion.slice(0, expected.length);
    actual = head + (/^[\w$]*/.exec(completion.slice(expected.length))?.[0] ?? '');
  }
  const longest = Math.max(expected.length, actual.length);
  return longest === 0 ? 1 : 1 - editDistance(expected, actual) / longest;
}

/**
 * Parses a benchmark of completion cases brought by the user: JSONL rows of
 * `{ "prefix": string, "expected": string, "kind": "next-identifier" | "next-line" }` (an optional
 * `"path"` string names the case in reports). Blank lines are skipped. A malformed row throws a
 * {@link FileFormatError} naming its 1-based line. Cases are scored as the drawn ones are: see
 * {@link isExactCompletion} and {@link completionSimilarity}; for `next-identifier`, `expected` is
 * compared with the start of the completion, so include the character before the identifier (a
 * space or `.`) when the prefix stops before it.
 */
export function parseCompletionCases(text: string, path = 'cases.jsonl'): CompletionCase[] {
  const cases: CompletionCase[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index]!.trim();
    if (line.length === 0) continue;
    const where = `line ${index + 1}`;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (error) {
      throw new FileFormatError({ path, reason: 'corrupt', message: `${where} is not JSON`, cause: error });
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw new FileFormatError({ path, reason: 'corrupt', message: `${where} is not a JSON object` });
    }
    const record = row as { prefix?: unknown; expected?: unknown; kind?: unknown; path?: unknown };
    if (typeof record.prefix !== 'string') throw new FileFormatError({ path, reason: 'corrupt', message: `${where} has no "prefix" string` });
    if (typeof record.expected !== 'string' || record.expected.trim().length === 0) {
      throw new FileFormatError({ path, reason: 'corrupt', message: `${where} has no non-empty "expected" string` });
    }
    if (record.kind !== 'next-line' && record.kind !== 'next-identifier') {
      throw new FileFormatError({ path, reason: 'corrupt', message: `${where}: "kind" must be "next-line" or "next-identifier", got ${JSON.stringify(record.kind)}` });
    }
    if (record.path !== undefined && typeof record.path !== 'string') throw new FileFormatError({ path, reason: 'corrupt', message: `${where}: "path" must be a string` });
    const testCase: CompletionCase = { kind: record.kind, path: record.path ?? `${path}:${index + 1}`, line: index + 1, prefix: record.prefix, expected: record.expected };
    if (record.kind === 'next-identifier') {
      const identifier = /[A-Za-z_$][\w$]*/.exec(record.expected)?.[0];
      if (identifier !== undefined) testCase.identifier = identifier;
    }
    cases.push(testCase);
  }
  return cases;
}

/** Reads a JSONL benchmark of completion cases; see {@link parseCompletionCases}. */
export async function readCompletionCases(path: string): Promise<CompletionCase[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new FileFormatError({ path, reason: 'missing', message: 'no such file', cause: error });
  }
  return parseCompletionCases(text, path);
}
