import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import {
  FileFormatError,
  InvalidArgumentError,
  findInstalledPackage,
  type ProgressReporter,
  sha256Hex,
  throwIfAborted,
  writeFileAtomic,
} from '@codestack/core';
import { isPermissiveLicense, readLicense } from './license-policy.js';
import { keepDistinct } from './near-duplicates.js';

/** Which part of the corpus a package's files go to. Splits are by package, never by file. */
export type CorpusSplit = 'train' | 'validation' | 'domain';

/** One source file of the corpus. */
export interface CorpusDocument {
  /** The package the file comes from. */
  package: string;
  /** The file's path inside the package. */
  path: string;
  /** The file's text, with line endings normalised to `\n`. */
  text: string;
}

/** What the collector recorded about one package. */
export interface CorpusPackageRecord {
  name: string;
  version: string;
  license: string;
  split: CorpusSplit;
  files: number;
  bytes: number;
  /** Files dropped as exact or near duplicates. */
  duplicates: number;
}

/** A package that was not used, and why. */
export interface SkippedPackage {
  name: string;
  reason: string;
}

/** The corpus manifest, written last as `manifest.json`. */
export interface CorpusManifest {
  formatVersion: 1;
  packages: CorpusPackageRecord[];
  skipped: SkippedPackage[];
  splits: Record<CorpusSplit, { files: number; bytes: number; sha256: string }>;
}

/** Options of {@link collectCorpus}. */
export interface CollectCorpusOptions {
  /** Package names to collect from, resolved from `resolveFrom`'s node_modules. */
  packages: readonly string[];
  /** Packages whose files form the validation split. */
  validationPackages: readonly string[];
  /** Packages held out of both train and validation, for a domain adapter. */
  domainPackages?: readonly string[];
  /** The directory to resolve packages from. */
  resolveFrom: string;
  /** Where to write `train.jsonl`, `validation.jsonl`, `domain.jsonl` and `manifest.json`. */
  outputDirectory: string;
  /** Files larger than this are skipped (generated bundles). Default 200 KB. */
  maximumFileBytes?: number;
  /** Near-duplicate threshold (estimated Jaccard). Default 0.8. */
  similarityThreshold?: number;
  /** Progress reporting, one unit per package. */
  progress?: ProgressReporter;
  /** Cancels the collection. */
  signal?: AbortSignal;
}

const sourceExtensions = /\.(?:[cm]?js|[cm]?ts|jsx|tsx)$/;
const excludedFiles = /(?:\.d\.[cm]?ts|\.min\.js|\.bundle\.js|[.-]umd\.js)$/;
const excludedDirectories = new Set(['node_modules', '.git', 'coverage', 'test', 'tests', '__tests__', 'fixtures']);

/**
 * Finds an installed package and reads its `package.json`, or says why it may not be used: not
 * installed, or a licence the corpus policy does not allow.
 */
export async function findPermissivePackage(
  name: string,
  resolveFrom: string,
): Promise<{ directory: string; packageJson: Record<string, unknown>; license: string } | { reason: string }> {
  const directory = findInstalledPackage(name, resolveFrom);
  if (!directory) return { reason: 'not installed' };
  const packageJson = JSON.parse(await readFile(join(directory, 'package.json'), 'utf8')) as Record<string, unknown>;
  const license = readLicense(packageJson);
  if (license === undefined || !isPermissiveLicense(license)) return { reason: `license ${license ?? '(none)'} is not permissive` };
  return { directory, packageJson, license };
}

/**
 * Collects a JavaScript/TypeScript corpus from installed npm packages: reads each package's
 * license and keeps only permissive ones, keeps readable source files (no declarations,
 * minified or bundled files), removes exact duplicates across the corpus and near duplicates
 * (cjs/esm/src variants of one module) within each package, splits by package, and writes
 * one JSONL file per split plus a manifest, each atomically.
 */
export async function collectCorpus(options: CollectCorpusOptions): Promise<CorpusManifest> {
  const domainPackages = new Set(options.domainPackages ?? []);
  const validationPackages = new Set(options.validationPackages);
  for (const name of validationPackages) {
    if (domainPackages.has(name)) {
      throw new InvalidArgumentError({ argument: 'validationPackages', message: `'${name}' is also a domain package` });
    }
  }
  const seenHashes = new Set<string>();
  const documents: Record<CorpusSplit, CorpusDocument[]> = { train: [], validation: [], domain: [] };
  const packages: CorpusPackageRecord[] = [];
  const skipped: SkippedPackage[] = [];

  for (const [position, name] of options.packages.entries()) {
    throwIfAborted(options.signal, 'corpus collection');
    const found = await findPermissivePackage(name, options.resolveFrom);
    if ('reason' in found) {
      skipped.push({ name, reason: found.reason });
      continue;
    }
    const { directory, packageJson, license } = found;
    const split: CorpusSplit = domainPackages.has(name) ? 'domain' : validationPackages.has(name) ? 'validation' : 'train';
    // Exact duplicates across the whole corpus (seenHashes), near duplicates within the package.
    const { sources, duplicates } = await readDistinctSources(directory, { maximumFileBytes: options.maximumFileBytes, similarityThreshold: options.similarityThreshold, seen: seenHashes });
    const keptDocuments = sources.map((source) => ({ package: name, ...source }));
    documents[split].push(...keptDocuments);
    packages.push({
      name,
      version: String(packageJson.version ?? ''),
      license,
      split,
      files: keptDocuments.length,
      bytes: keptDocuments.reduce((total, document) => total + Buffer.byteLength(document.text), 0),
      duplicates,
    });
    options.progress?.update({ completed: position + 1, fields: { files: documents.train.length + documents.validation.length + documents.domain.length } });
  }

  await mkdir(options.outputDirectory, { recursive: true });
  const splits = {} as CorpusManifest['splits'];
  for (const split of ['train', 'validation', 'domain'] as const) {
    const body = documents[split].map((document) => JSON.stringify(document)).join('\n') + (documents[split].length > 0 ? '\n' : '');
    await writeFileAtomic(join(options.outputDirectory, `${split}.jsonl`), body);
    splits[split] = {
      files: documents[split].length,
      bytes: documents[split].reduce((total, document) => total + Buffer.byteLength(document.text), 0),
      sha256: sha256Hex(body),
    };
  }
  const manifest: CorpusManifest = { formatVersion: 1, packages, skipped, splits };
  await writeFileAtomic(join(options.outputDirectory, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  options.progress?.finish({ files: packages.reduce((total, record) => total + record.files, 0) });
  return manifest;
}

/** Reads one split of a collected corpus, verifying it against the manifest's checksum. */
export async function readCorpusSplit(directory: string, split: CorpusSplit): Promise<CorpusDocument[]> {
  const manifest = JSON.parse(await readFile(join(directory, 'manifest.json'), 'utf8')) as CorpusManifest;
  const body = await readFile(join(directory, `${split}.jsonl`), 'utf8');
  if (sha256Hex(body) !== manifest.splits[split]?.sha256) {
    throw new FileFormatError({ path: join(directory, `${split}.jsonl`), reason: 'corrupt', message: 'does not match the checksum in manifest.json' });
  }
  return body.split('\n').filter(Boolean).map((line) => JSON.parse(line) as CorpusDocument);
}

/** Options of {@link readDistinctSources}. */
export interface ReadDistinctSourcesOptions {
  /** Files larger than this are skipped (generated bundles). Default 200 KB. */
  maximumFileBytes?: number | undefined;
  /** Near-duplicate threshold (estimated Jaccard) of {@link keepDistinct}. Default 0.8. */
  similarityThreshold?: number | undefined;
  /**
   * Hashes of the (whitespace-collapsed) texts already taken; a file with one of them is an exact
   * duplicate. Each file read adds its own, so sharing one set across packages drops duplicates
   * across them. Default: a new set.
   */
  seen?: Set<string>;
  /** Leaves a listed file (absolute path) out before it is read. */
  skip?: (path: string) => boolean;
}

/**
 * The distinct source files of a package directory, as the corpus reads them: the files of
 * {@link listSourceFiles} that are neither empty, too large nor {@link looksGenerated}, with line
 * endings normalised to `\n`; exact duplicates (after collapsing whitespace) dropped, then near
 * duplicates ({@link keepDistinct}) with hand-written sources first ({@link variantRank}). Returns
 * the kept files in that order with their paths relative to `directory`, and how many were dropped.
 */
export async function readDistinctSources(directory: string, options: ReadDistinctSourcesOptions = {}): Promise<{ sources: { path: string; text: string }[]; duplicates: number }> {
  const maximumFileBytes = options.maximumFileBytes ?? 200_000;
  const seen = options.seen ?? new Set<string>();
  const candidates: { path: string; text: string }[] = [];
  let duplicates = 0;
  for (const path of await listSourceFiles(directory)) {
    if (options.skip?.(path)) continue;
    const size = (await stat(path)).size;
    if (size === 0 || size > maximumFileBytes) continue;
    const text = (await readFile(path, 'utf8')).replace(/\r\n?/g, '\n');
    if (looksGenerated(text)) continue;
    const hash = sha256Hex(text.replace(/\s+/g, ' ').trim());
    if (seen.has(hash)) {
      duplicates += 1;
      continue;
    }
    seen.add(hash);
    candidates.push({ path: relative(directory, path), text });
  }
  // Prefer original sources over compiled variants when near duplicates exist.
  candidates.sort((first, second) => variantRank(first.path) - variantRank(second.path) || first.path.localeCompare(second.path));
  const kept = keepDistinct(candidates.map((candidate) => candidate.text), options.similarityThreshold);
  return { sources: kept.map((index) => candidates[index]!), duplicates: duplicates + candidates.length - kept.length };
}

/** The source files of a package directory that the corpus reads (no declarations, tests, fixtures, minified or bundled files), sorted. */
async function listSourceFiles(directory: string): Promise<string[]> {
  const files: string[] = [];
  const entries = await readdir(directory, { withFileTypes: true });
  entries.sort((first, second) => first.name.localeCompare(second.name));
  for (const entry of entries) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) {
      if (!excludedDirectories.has(entry.name)) files.push(...(await listSourceFiles(path)));
    } else if (entry.isFile() && sourceExtensions.test(entry.name) && !excludedFiles.test(entry.name)) {
      files.push(path);
    }
  }
  return files;
}

/** Minified or machine-generated text: very long lines, or hardly any line breaks. */
function looksGenerated(text: string): boolean {
  const lines = text.split('\n');
  const longest = lines.reduce((maximum, line) => Math.max(maximum, line.length), 0);
  return longest > 1000 || text.length / lines.length > 200;
}

/** Sort key that puts hand-written sources first: src/ and .ts before esm, then cjs builds. */
function variantRank(path: string): number {
  if (/(^|\/)src\//.test(path) || /\.tsx?$/.test(path)) return 0;
  if (/(^|\/)(esm|es|module)\//.test(path) || path.endsWith('.mjs')) return 1;
  if (/(^|\/)(cjs|commonjs|umd|dist|lib|build)\//.test(path) || path.endsWith('.cjs')) return 2;
  return 1;
}

/** A stable short id of a corpus document, for logs. */
export function documentId(document: CorpusDocument): string {
  return createHash('sha1').update(`${document.package}/${document.path}`).digest('hex').slice(0, 12);
}
