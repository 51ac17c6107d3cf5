import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileFormatError, sha256Hex } from '@codestack/core';

/** The `format` value of every docs index manifest. */
export const indexFormat = 'codestack-docs-index';
/** The manifest format version this package writes and reads. */
export const indexFormatVersion = 1;
/** The manifest's file name inside an index directory. */
export const manifestFileName = 'manifest.json';

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
 * Reads and checks a manifest.
 * @throws FileFormatError `missing` when absent, `corrupt` when unreadable, `mismatch` for another format or version.
 */
export async function readManifest(directory: string): Promise<IndexManifest> {
  const path = join(directory, manifestFileName);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new FileFormatError({ path, reason: 'missing', message: 'no docs index manifest here', cause });
  }
  let manifest: Partial<IndexManifest>;
  try {
    manifest = JSON.parse(text) as Partial<IndexManifest>;
  } catch (cause) {
    throw new FileFormatError({ path, reason: 'corrupt', message: 'the manifest is not valid JSON', cause });
  }
  if (manifest.format !== indexFormat) {
    throw new FileFormatError({ path, reason: 'mismatch', message: `not a ${indexFormat} manifest` });
  }
  if (manifest.formatVersion !== indexFormatVersion) {
    throw new FileFormatError({ path, reason: 'mismatch', message: `format version ${String(manifest.formatVersion)} is not ${indexFormatVersion}` });
  }
  const files = manifest.files;
  if (
    typeof manifest.embedder?.id !== 'string' ||
    typeof manifest.embedder.dimension !== 'number' ||
    typeof manifest.count !== 'number' ||
    !isManifestFile(files?.graph) ||
    !isManifestFile(files?.docstore) ||
    (files?.embedderState !== undefined && !isManifestFile(files.embedderState))
  ) {
    throw new FileFormatError({ path, reason: 'corrupt', message: 'the manifest lacks required fields' });
  }
  return manifest as IndexManifest;
}

/**
 * Reads a data file listed in a manifest and checks its size and SHA-256.
 * @throws FileFormatError `missing` when absent, `corrupt` when the bytes do not match.
 */
export async function readCheckedFile(directory: string, file: ManifestFile): Promise<Buffer> {
  const path = join(directory, file.name);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new FileFormatError({ path, reason: 'missing', message: 'a file the manifest lists is absent', cause });
  }
  if (bytes.length !== file.bytes || sha256Hex(bytes) !== file.sha256) {
    throw new FileFormatError({ path, reason: 'corrupt', message: 'size or SHA-256 differs from the manifest' });
  }
  return bytes;
}

function isManifestFile(value: unknown): value is ManifestFile {
  const file = value as Partial<ManifestFile> | undefined;
  return (
    typeof file?.name === 'string' &&
    /^[a-z-]+-[0-9a-f]{16}\.[a-z]+$/.test(file.name) &&
    typeof file.sha256 === 'string' &&
    typeof file.bytes === 'number'
  );
}
