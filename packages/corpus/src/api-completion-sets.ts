import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { builtinModules, createRequire } from 'node:module';
import { join } from 'node:path';
import { FileFormatError, InvalidArgumentError, sha256Hex, throwIfAborted, writeFileAtomic } from '@codestack/core';
import { findPermissivePackage, readDistinctSources } from './collect-corpus.js';
import { corpusPackages } from './corpus-packages.js';

/**
 * Installed npm packages outside the corpus whose files call Node core modules (`fs.`, `path.`,
 * …): the pool the held-out API-completion sets are drawn from. Pinned so the sets are the same on
 * every machine that ran `npm ci`; {@link splitApiPackages} deals them into validation and test.
 */
export const apiCompletionPackages: readonly string[] = [
  '@arethetypeswrong/cli',
  '@arethetypeswrong/core',
  '@changesets/apply-release-plan',
  '@changesets/cli',
  '@changesets/git',
  '@changesets/pre',
  '@changesets/read',
  '@electric-sql/pglite-socket',
  '@loaderkit/resolve',
  '@manypkg/find-root',
  '@manypkg/get-packages',
  '@nodelib/fs.scandir',
  '@nodelib/fs.walk',
  '@publint/pack',
  '@vitest/mocker',
  '@vitest/snapshot',
  '@vitest/utils',
  'agent-base',
  'browserslist',
  'cli-highlight',
  'debug',
  'destroy',
  'enhanced-resolve',
  'enquirer',
  'esbuild',
  'fast-glob',
  'fs-extra',
  'isexe',
  'node-fetch',
  'openai',
  'pathe',
  'pg',
  'pg-protocol',
  'prettier',
  'publint',
  'raw-body',
  'schema-utils',
  'signal-exit',
  'source-map',
  'source-map-support',
  'terser',
  'tiktoken',
  'tinyexec',
  'tinyglobby',
  'tinypool',
  'tsx',
  'undici',
  'vite',
  'vite-node',
  'vitest',
  'watchpack',
];

/** The Node core modules whose members the cases ask for. */
export const apiCompletionModules: readonly string[] = ['fs', 'path', 'os', 'child_process', 'crypto', 'url', 'util', 'zlib', 'http', 'https', 'net', 'readline', 'assert', 'stream', 'events', 'worker_threads'];

/** One held-out API-member completion case, in the `codestack eval completion --cases` format. */
export interface ApiCompletionCase {
  /** The file's text up to the module object (`…fs`), at most {@link BuildApiCompletionSetsOptions.maximumPrefixCharacters}, cut at a line start. */
  prefix: string;
  /** `.` and the member (`.readFileSync`): BPE merges the dot with the name, so the prefix stops before it. */
  expected: string;
  kind: 'next-identifier';
  /** `package@version/file:line`. */
  path: string;
  /** The core module (`fs`). */
  module: string;
  /** The member alone (`readFileSync`). */
  identifier: string;
}

/** One held-out file for bits per byte. */
export interface HeldOutDocument {
  package: string;
  path: string;
  text: string;
}

/** The sets {@link buildApiCompletionSets} builds. */
export interface ApiCompletionSets {
  /** Packages of each side (disjoint). */
  packages: { validation: string[]; test: string[] };
  /** Packages left out, with the reason. */
  skipped: { name: string; reason: string }[];
  validation: ApiCompletionCase[];
  test: ApiCompletionCase[];
  /** Files of the test packages, for held-out bits per byte. */
  heldOutText: HeldOutDocument[];
}

/** Options of {@link buildApiCompletionSets}. */
export interface BuildApiCompletionSetsOptions {
  /** Where packages are resolved from (their `node_modules`). */
  resolveFrom: string;
  /** Candidate packages. Default {@link apiCompletionPackages}. */
  packages?: readonly string[];
  /** Seed of the package split and of the case sampling. Default 1. */
  seed?: number;
  /** Share of packages on the validation side. Default 0.5. */
  validationShare?: number;
  /** Cases drawn per file. Default 3. */
  casesPerFile?: number;
  /** Cases drawn per package. Default 24. */
  casesPerPackage?: number;
  /** Prefix characters kept. Default 4000. */
  maximumPrefixCharacters?: number;
  /** Bytes of held-out text for bits per byte. Default 200,000. */
  heldOutBytes?: number;
  signal?: AbortSignal;
}

function seededRank(seed: number, key: string): number {
  return createHash('sha256').update(`${seed}:${key}`).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * Deals `packages` into validation and test: sorted by a seeded hash of the name, the first
 * `validationShare` go to validation. Deterministic for a seed; the two sides never share a package.
 */
export function splitApiPackages(packages: readonly string[], seed = 1, validationShare = 0.5): { validation: string[]; test: string[] } {
  const ranked = [...new Set(packages)].sort((left, right) => seededRank(seed, left) - seededRank(seed, right) || left.localeCompare(right));
  const cut = Math.round(ranked.length * validationShare);
  return { validation: ranked.slice(0, cut).sort(), test: ranked.slice(cut).sort() };
}

const moduleAlternation = (modules: readonly string[]): string => modules.map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');

/**
 * The local names bound to Node core modules in `text`: `const fs = require('fs')`,
 * `import * as fs from 'node:fs'`, `import fs from 'fs'`, `const fs = __importStar(require("fs"))`.
 * Returns name → module.
 */
export function coreModuleBindings(text: string, modules: readonly string[] = apiCompletionModules): Map<string, string> {
  const names = moduleAlternation(modules);
  const specifier = `['"](?:node:)?(${names})['"]`;
  const patterns = [
    new RegExp(`\\b(?:const|let|var)\\s+([A-Za-z_$][\\w$]*)\\s*=\\s*(?:__importStar\\(\\s*)?require\\(\\s*${specifier}\\s*\\)`, 'g'),
    new RegExp(`\\bimport\\s+\\*\\s+as\\s+([A-Za-z_$][\\w$]*)\\s+from\\s+${specifier}`, 'g'),
    new RegExp(`\\bimport\\s+([A-Za-z_$][\\w$]*)\\s*(?:,\\s*\\{[^}]*\\}\\s*)?from\\s+${specifier}`, 'g'),
  ];
  const bindings = new Map<string, string>();
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) bindings.set(match[1]!, match[2]!);
  return bindings;
}

const memberCache = new Map<string, Set<string>>();

/** The members a core module really exports (so a case only asks for a name the docs can hold). */
export async function coreModuleMembers(module: string): Promise<Set<string>> {
  let members = memberCache.get(module);
  if (members === undefined) {
    if (!builtinModules.includes(module)) throw new InvalidArgumentError({ argument: 'module', message: `'${module}' is not a Node core module` });
    const loaded = createRequire(import.meta.url)(`node:${module}`) as Record<string, unknown>;
    members = new Set(Object.keys(loaded).filter((name) => name !== 'default'));
    memberCache.set(module, members);
  }
  return members;
}

/** Whether `offset` of `text` is on a line that is a comment, or inside a string on that line (a cheap, line-local check). */
function inCommentOrString(text: string, offset: number): boolean {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const before = text.slice(lineStart, offset);
  if (/^\s*(\/\/|\*|\/\*)/.test(before) || before.includes('//')) return true;
  let quote: string | undefined;
  for (let index = 0; index < before.length; index++) {
    const character = before[index]!;
    if (quote !== undefined) {
      if (character === '\\') index++;
      else if (character === quote) quote = undefined;
    } else if (character === '"' || character === "'" || character === '`') quote = character;
  }
  return quote !== undefined;
}

/**
 * The API-member cases of one file: every `name.member` where `name` is bound to a core module and
 * `member` is one of its exports, outside comments and strings. Up to `casesPerFile`, picked evenly
 * over the file. The prefix ends right after `name`.
 */
export async function fileApiCases(text: string, path: string, options: { casesPerFile?: number; maximumPrefixCharacters?: number } = {}): Promise<ApiCompletionCase[]> {
  const bindings = coreModuleBindings(text);
  if (bindings.size === 0) return [];
  const found: ApiCompletionCase[] = [];
  const names = moduleAlternation([...bindings.keys()]);
  const maximumPrefixCharacters = options.maximumPrefixCharacters ?? 4000;
  for (const match of text.matchAll(new RegExp(`(?<![\\w$.])(${names})\\.([A-Za-z_$][\\w$]*)`, 'g'))) {
    const module = bindings.get(match[1]!)!;
    const member = match[2]!;
    if (!(await coreModuleMembers(module)).has(member)) continue;
    const cut = match.index + match[1]!.length;
    if (inCommentOrString(text, match.index)) continue;
    let start = Math.max(0, cut - maximumPrefixCharacters);
    if (start > 0) start = text.indexOf('\n', start) + 1;
    const line = text.slice(0, cut).split('\n').length;
    found.push({ prefix: text.slice(start, cut), expected: `.${member}`, kind: 'next-identifier', path: `${path}:${line}`, module, identifier: member });
  }
  const count = Math.min(options.casesPerFile ?? 3, found.length);
  return Array.from({ length: count }, (_, pick) => found[Math.floor(((pick + 0.5) * found.length) / count)]!);
}

/** Test files that sit next to the code rather than in a test directory. */
const testFileName = /\.(?:test|spec)\.[cm]?[jt]sx?$/;

/**
 * Identifier characters of the prefix's end that tell two cases apart. The key keeps only `[\w$]`
 * (no whitespace, punctuation or quotes), so a TypeScript source and its build (`fs.lstat(path` after
 * `async (dir) =>` or `async dir =>`) give the same key; 40 is about the statement before the
 * cursor. With 200 characters and whitespace collapsed, type annotations and the build's
 * reformatting in the window kept most source/build pairs apart.
 */
const caseKeyTailCharacters = 40;

/** Two cases with the same key ask the same question: package, module, member and the prefix's last identifier characters. */
export function apiCaseKey(packageName: string, testCase: ApiCompletionCase): string {
  const tail = testCase.prefix.replace(/[^\w$]+/g, '').slice(-caseKeyTailCharacters);
  return JSON.stringify([packageName, testCase.module, testCase.identifier, tail]);
}

/**
 * Builds the held-out API-member completion sets: for each pinned package that is installed,
 * permissively licensed and not a corpus package, reads its source files (as the corpus does:
 * no declarations, tests, minified or generated files, and near duplicates within the package
 * dropped by {@link readDistinctSources}, sources first; also no `*.test.*` / `*.spec.*` files), draws `fs.`→`readFileSync`-style cases,
 * drops cases that repeat another of the package ({@link apiCaseKey}), and caps them per file and
 * per package (a seeded sample). Validation and test come from
 * disjoint packages ({@link splitApiPackages}); the test packages' files also form a held-out
 * text for bits per byte. Deterministic for a seed and an installed tree.
 */
export async function buildApiCompletionSets(options: BuildApiCompletionSetsOptions): Promise<ApiCompletionSets> {
  const seed = options.seed ?? 1;
  const casesPerPackage = options.casesPerPackage ?? 24;
  const heldOutBytes = options.heldOutBytes ?? 200_000;
  const corpus = new Set(corpusPackages);
  const skipped: { name: string; reason: string }[] = [];
  const usable: { name: string; directory: string; version: string }[] = [];
  for (const name of options.packages ?? apiCompletionPackages) {
    if (corpus.has(name)) {
      skipped.push({ name, reason: 'in the training corpus' });
      continue;
    }
    const found = await findPermissivePackage(name, options.resolveFrom);
    if ('reason' in found) {
      skipped.push({ name, reason: found.reason });
      continue;
    }
    usable.push({ name, directory: found.directory, version: String(found.packageJson.version ?? '') });
  }
  const packages = splitApiPackages(
    usable.map((entry) => entry.name),
    seed,
    options.validationShare,
  );
  const sets: ApiCompletionSets = { packages, skipped, validation: [], test: [], heldOutText: [] };
  for (const entry of usable) {
    throwIfAborted(options.signal, 'API completion set building');
    const side = packages.validation.includes(entry.name) ? 'validation' : 'test';
    // The same module shipped as source and builds (src/x.ts, dist/x.mjs, dist/x.cjs): one copy, as
    // the corpus reads it (duplicates within the package dropped, hand-written sources first). The
    // corpus skips test directories; test files next to the code (`x.test.ts`, `x.spec.js`) go too.
    const { sources } = await readDistinctSources(entry.directory, { skip: (file) => testFileName.test(file.slice(file.lastIndexOf('/') + 1)) });
    const cases: ApiCompletionCase[] = [];
    const caseKeys = new Set<string>();
    for (const { path: relativePath, text } of sources) {
      const path = `${entry.name}@${entry.version}/${relativePath}`;
      for (const testCase of await fileApiCases(text, path, options)) {
        // Copies that survive the file-level check (a bundle holding one module among others)
        // still ask the same question: one case per package, module, member and prefix tail.
        const key = apiCaseKey(entry.name, testCase);
        if (caseKeys.has(key)) continue;
        caseKeys.add(key);
        cases.push(testCase);
      }
      if (side === 'test') sets.heldOutText.push({ package: entry.name, path, text });
    }
    const sampled = cases
      .map((testCase) => ({ testCase, rank: seededRank(seed, testCase.path) }))
      .sort((left, right) => left.rank - right.rank)
      .slice(0, casesPerPackage)
      .map(({ testCase }) => testCase);
    sets[side].push(...sampled);
  }
  const order = (left: ApiCompletionCase, right: ApiCompletionCase): number => seededRank(seed, left.path) - seededRank(seed, right.path);
  sets.validation.sort(order);
  sets.test.sort(order);
  const heldOut = sets.heldOutText.sort((left, right) => seededRank(seed, left.path) - seededRank(seed, right.path));
  sets.heldOutText = [];
  let bytes = 0;
  for (const document of heldOut) {
    const size = Buffer.byteLength(document.text);
    if (bytes + size > heldOutBytes) continue;
    sets.heldOutText.push(document);
    bytes += size;
  }
  return sets;
}

/** What {@link writeApiCompletionSets} records in `manifest.json`. */
export interface ApiCompletionSetsManifest {
  seed: number;
  packages: { validation: string[]; test: string[] };
  skipped: { name: string; reason: string }[];
  files: Record<'validation' | 'test' | 'held-out-text', { rows: number; bytes: number; sha256: string }>;
}

/**
 * Writes `validation.jsonl`, `test.jsonl` (cases), `held-out-text.jsonl` (`{ package, path, text }`)
 * and `manifest.json` (packages of each side, skipped packages, row counts and checksums) into
 * `directory`, each atomically.
 */
export async function writeApiCompletionSets(sets: ApiCompletionSets, directory: string, seed = 1): Promise<ApiCompletionSetsManifest> {
  await mkdir(directory, { recursive: true });
  const files = {} as ApiCompletionSetsManifest['files'];
  const rows: Record<keyof ApiCompletionSetsManifest['files'], readonly object[]> = { validation: sets.validation, test: sets.test, 'held-out-text': sets.heldOutText };
  for (const [name, content] of Object.entries(rows) as [keyof ApiCompletionSetsManifest['files'], readonly object[]][]) {
    const body = content.map((row) => `${JSON.stringify(row)}\n`).join('');
    await writeFileAtomic(join(directory, `${name}.jsonl`), body);
    files[name] = { rows: content.length, bytes: Buffer.byteLength(body), sha256: sha256Hex(body) };
  }
  const manifest: ApiCompletionSetsManifest = { seed, packages: sets.packages, skipped: sets.skipped, files };
  await writeFileAtomic(join(directory, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Reads one file of a set directory written by {@link writeApiCompletionSets}, checked against its manifest. */
export async function readApiCompletionFile(directory: string, name: keyof ApiCompletionSetsManifest['files']): Promise<string> {
  const path = join(directory, `${name}.jsonl`);
  const manifest = JSON.parse(await readFile(join(directory, 'manifest.json'), 'utf8')) as ApiCompletionSetsManifest;
  const body = await readFile(path, 'utf8');
  if (sha256Hex(body) !== manifest.files[name]?.sha256) throw new FileFormatError({ path, reason: 'corrupt', message: 'does not match the checksum in manifest.json' });
  return body;
}
