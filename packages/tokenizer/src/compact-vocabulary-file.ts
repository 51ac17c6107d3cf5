import { readFile } from 'node:fs/promises';
import { FileFormatError, throwIfAborted, writeFileAtomic } from '@codestack/core';
import { assertString } from './argument-checks.js';
import {
  byteTokenOffset,
  type CompactVocabulary,
  compactSpecialTokens,
  compactVocabularyChecksum,
  createCompactVocabulary,
} from './compact-vocabulary.js';
import { isEncodingName } from './encoding-registry.js';

/** The `format` field of a compact vocabulary file. */
export const compactVocabularyFormat = 'codestack.compact-vocabulary';
/** The file format version this package writes and reads. */
export const compactVocabularyVersion = 1;

/** The JSON a compact vocabulary is saved as. */
export interface CompactVocabularyFile {
  format: typeof compactVocabularyFormat;
  version: typeof compactVocabularyVersion;
  /** The base encoding the kept tokens come from. */
  baseEncoding: string;
  /** The special token ids (fixed layout). */
  specialTokens: typeof compactSpecialTokens;
  /** The id of byte 0x00. */
  byteTokenOffset: number;
  /** The kept base token ids in compact order. */
  baseTokenIds: number[];
  /** SHA-256 over the fields above. */
  checksum: string;
}

/** Saves a compact vocabulary as versioned JSON with a checksum, atomically. */
export async function saveCompactVocabulary(
  vocabulary: CompactVocabulary,
  path: string,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  assertString(path, 'path');
  throwIfAborted(options.signal, 'saveCompactVocabulary');
  const file: CompactVocabularyFile = {
    format: compactVocabularyFormat,
    version: compactVocabularyVersion,
    baseEncoding: vocabulary.baseEncoding,
    specialTokens: compactSpecialTokens,
    byteTokenOffset,
    baseTokenIds: [...vocabulary.baseTokenIds],
    checksum: vocabulary.checksum,
  };
  await writeFileAtomic(path, `${JSON.stringify(file)}\n`);
}

/**
 * Loads a compact vocabulary saved by {@link saveCompactVocabulary}. Refuses with
 * {@link FileFormatError}: `MISSING_FILE` when absent; `MISMATCHED_FILE` for another format or
 * version, an unknown base encoding, or one other than `expectedBaseEncoding`; `CORRUPT_FILE` for
 * malformed JSON, a bad checksum, or invalid token ids.
 */
export async function loadCompactVocabulary(
  path: string,
  options: { expectedBaseEncoding?: string; signal?: AbortSignal } = {},
): Promise<CompactVocabulary> {
  assertString(path, 'path');
  throwIfAborted(options.signal, 'loadCompactVocabulary');
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8', signal: options.signal });
  } catch (error) {
    throwIfAborted(options.signal, 'loadCompactVocabulary');
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new FileFormatError({ path, reason: 'missing', message: 'no compact vocabulary file here', cause: error });
    }
    throw new FileFormatError({ path, reason: 'corrupt', message: 'the file cannot be read', cause: error });
  }
  const refuse = (reason: 'corrupt' | 'mismatch', message: string, cause?: unknown): never => {
    throw new FileFormatError({ path, reason, message, cause });
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    refuse('corrupt', 'not valid JSON', error);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) refuse('corrupt', 'not a JSON object');
  const file = parsed as Partial<CompactVocabularyFile>;
  if (file.format !== compactVocabularyFormat) refuse('mismatch', `not a compact vocabulary (format ${JSON.stringify(file.format)})`);
  if (file.version !== compactVocabularyVersion) {
    refuse('mismatch', `version ${JSON.stringify(file.version)}, but this package reads version ${compactVocabularyVersion}`);
  }
  if (typeof file.baseEncoding !== 'string' || !isEncodingName(file.baseEncoding)) {
    refuse('mismatch', `unknown base encoding ${JSON.stringify(file.baseEncoding)}`);
  }
  const baseEncoding = file.baseEncoding as string;
  if (options.expectedBaseEncoding !== undefined && baseEncoding !== options.expectedBaseEncoding) {
    refuse('mismatch', `built on ${baseEncoding}, but ${options.expectedBaseEncoding} was expected`);
  }
  if (!Array.isArray(file.baseTokenIds) || typeof file.checksum !== 'string') refuse('corrupt', 'fields are missing');
  const baseTokenIds = file.baseTokenIds as number[];
  if (
    file.byteTokenOffset !== byteTokenOffset ||
    JSON.stringify(file.specialTokens) !== JSON.stringify(compactSpecialTokens)
  ) {
    refuse('corrupt', 'the special or byte token layout is not the fixed one');
  }
  if (compactVocabularyChecksum(baseEncoding, baseTokenIds) !== file.checksum) {
    refuse('corrupt', 'the checksum does not match the content');
  }
  try {
    return await createCompactVocabulary({ baseEncoding, baseTokenIds, signal: options.signal });
  } catch (error) {
    throwIfAborted(options.signal, 'loadCompactVocabulary');
    return refuse('corrupt', 'the token ids are invalid', error);
  }
}
