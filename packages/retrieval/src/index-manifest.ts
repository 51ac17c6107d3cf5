import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { FileFormatError, sha256Hex } from '@codestack/core';
import { maximumCapacity, maximumDimension, maximumSearchEf } from './hnsw-vector-index.js';

/** The `format` value of every docs index manifest. */
export const indexFormat = 'codestack-docs-index';
/** The manifest format version this package writes and reads. */
export const indexFormatVersion = 1;
/** The manifest's file name inside an index directory. */
export const manifestFileName = 'manifest.json';

/** The largest manifest read (a real one is well under 2 KiB). */
export const maximumManifestBytes = 64 * 1024;
/** The largest data file a manifest may list (the most a Node `Buffer` holds in one read). */
export const maximumDataFileBytes = 2 ** 31 - 1;

/** The data files of an index, by role, and the name prefix and extension each must have. */
const dataFileKinds = {
  graph: { prefix: 'graph', extension: 'bin' },
  docstore: { prefix: 'docstore', extension: 'json' },
  embedderState: { prefix: 'embedder', extension: 'json' },
} as const;

/** One data file listed in a manifest. */
export interface ManifestFile {
  /** The file's name inside the index directory (content-addressed). */
  name: string;
  /** The SHA-256 of its bytes. */
  sha256: string;
  /** Its size in bytes. */
  bytes: number;
}

/** The manifest of a saved docs index: the atomic switch between one saved state and the next. */
export interface IndexManifest {
  /** Always {@link indexFormat}. */
  format: typeof indexFormat;
  /** Always {@link indexFormatVersion}. */
  formatVersion: number;
  /** The embedder the vectors came from. */
  embedder: { id: string; dimension: number };
  /** The number of indexed pieces. */
  count: number;
  /** The default search `ef`. */
  ef: number;
  /** The data files: the hnswlib graph, the docstore and (for the local embedder) its fitted state. */
  files: { graph: ManifestFile; docstore: ManifestFile; embedderState?: ManifestFile };
  /** When it was written (ISO 8601). */
  createdAt: string;
}

/**
 * Reads and checks a manifest: its size, its format and version, and every field's type and
 * range (the embedder's id and dimension, `count`, `ef`, each file's content-addressed name,
 * SHA-256 and size), before anything is allocated from it.
 * @throws FileFormatError `missing` when absent, `corrupt` when unreadable or out of range, `mismatch` for another format or version.
 */
export async function readManifest(directory: string): Promise<IndexManifest> {
  const path = join(directory, manifestFileName);
  let text: string;
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      if (size > maximumManifestBytes) throw new FileFormatError({ path, reason: 'corrupt', message: `the manifest is ${size} bytes, above ${maximumManifestBytes}` });
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (cause) {
    if (FileFormatError.isInstance(cause)) throw cause;
    throw new FileFormatError({ path, reason: 'missing', message: 'no docs index manifest here', cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new FileFormatError({ path, reason: 'corrupt', message: 'the manifest is not valid JSON', cause });
  }
  return checkManifest(parsed, path);
}

/**
 * Checks a parsed manifest; see {@link readManifest}.
 * @throws FileFormatError naming `path` when it is not a valid manifest of this format.
 */
export function checkManifest(value: unknown, path: string): IndexManifest {
  const corrupt = (message: string): FileFormatError => new FileFormatError({ path, reason: 'corrupt', message: `the manifest's ${message}` });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt('top level is not an object');
  const manifest = value as Partial<IndexManifest>;
  if (manifest.format !== indexFormat) {
    throw new FileFormatError({ path, reason: 'mismatch', message: `not a ${indexFormat} manifest` });
  }
  if (manifest.formatVersion !== indexFormatVersion) {
    throw new FileFormatError({ path, reason: 'mismatch', message: `format version ${String(manifest.formatVersion).slice(0, 40)} is not ${indexFormatVersion}` });
  }
  const embedder = manifest.embedder;
  if (typeof embedder !== 'object' || embedder === null || typeof embedder.id !== 'string' || embedder.id.length === 0 || embedder.id.length > 1000) {
    throw corrupt('embedder id is not a string of 1 to 1000 characters');
  }
  if (!isIntegerIn(embedder.dimension, 1, maximumDimension)) throw corrupt(`embedder dimension is not an integer in [1, ${maximumDimension}]`);
  if (!isIntegerIn(manifest.count, 0, maximumCapacity)) throw corrupt(`count is not an integer in [0, ${maximumCapacity}]`);
  if (!isIntegerIn(manifest.ef, 1, maximumSearchEf)) throw corrupt(`ef is not an integer in [1, ${maximumSearchEf}]`);
  if (typeof manifest.createdAt !== 'string') throw corrupt('createdAt is not a string');
  const files = manifest.files;
  if (typeof files !== 'object' || files === null) throw corrupt('files are missing');
  for (const role of ['graph', 'docstore', 'embedderState'] as const) {
    const file = files[role];
    if (file === undefined && role === 'embedderState') continue;
    const problem = manifestFileProblem(file, dataFileKinds[role]);
    if (problem !== undefined) throw corrupt(`${role} file ${problem}`);
  }
  return manifest as IndexManifest;
}

/**
 * Reads a data file listed in a manifest and checks its size (before reading) and SHA-256.
 * @throws FileFormatError `missing` when absent, `corrupt` when the bytes do not match.
 */
export async function readCheckedFile(directory: string, file: ManifestFile): Promise<Buffer> {
  const path = join(directory, file.name);
  let bytes: Buffer;
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      if (size !== file.bytes) throw new FileFormatError({ path, reason: 'corrupt', message: `${size} bytes, the manifest says ${file.bytes}` });
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (cause) {
    if (FileFormatError.isInstance(cause)) throw cause;
    throw new FileFormatError({ path, reason: 'missing', message: 'a file the manifest lists is absent', cause });
  }
  if (bytes.length !== file.bytes || sha256Hex(bytes) !== file.sha256) {
    throw new FileFormatError({ path, reason: 'corrupt', message: 'size or SHA-256 differs from the manifest' });
  }
  return bytes;
}

function isIntegerIn(value: unknown, minimum: number, maximum: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= minimum && value <= maximum;
}

function manifestFileProblem(value: unknown, kind: { prefix: string; extension: string }): string | undefined {
  if (typeof value !== 'object' || value === null) return 'is missing';
  const file = value as Partial<ManifestFile>;
  if (typeof file.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(file.sha256)) return 'has no SHA-256';
  if (file.name !== `${kind.prefix}-${file.sha256.slice(0, 16)}.${kind.extension}`) return `is not named ${kind.prefix}-<sha256 prefix>.${kind.extension}`;
  if (!isIntegerIn(file.bytes, 0, maximumDataFileBytes)) return `size is not an integer in [0, ${maximumDataFileBytes}]`;
  return undefined;
}
