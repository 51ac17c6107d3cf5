import { CodestackError } from './codestack-error.js';

const marker = 'codestack.error.file-format';
const markerSymbol = Symbol.for(marker);

/** Why a file was refused. */
export type FileFormatErrorReason =
  /** The bytes are damaged: a checksum, length or parse check failed. */
  | 'corrupt'
  /** The file is well formed but belongs to something else (another base model, embedder, version). */
  | 'mismatch'
  /** A file the format needs is absent. */
  | 'missing';

const codes: Record<FileFormatErrorReason, string> = {
  corrupt: 'CORRUPT_FILE',
  mismatch: 'MISMATCHED_FILE',
  missing: 'MISSING_FILE',
};

/**
 * A checkpoint, adapter, vocabulary or index file was refused.
 * Codes: `CORRUPT_FILE`, `MISMATCHED_FILE` or `MISSING_FILE`.
 */
export class FileFormatError extends CodestackError {
  private readonly [markerSymbol] = true;

  /** The file or directory that was refused. */
  readonly path: string;
  /** Why it was refused. */
  readonly reason: FileFormatErrorReason;

  constructor({
    path,
    reason,
    message,
    cause,
  }: {
    path: string;
    reason: FileFormatErrorReason;
    message: string;
    cause?: unknown;
  }) {
    super({ code: codes[reason], message: `${path}: ${message}`, cause });
    this.name = 'FileFormatError';
    this.path = path;
    this.reason = reason;
  }

  /** Whether `error` is a {@link FileFormatError}, from any copy of this package. */
  static override isInstance(error: unknown): error is FileFormatError {
    return CodestackError.hasMarker(error, marker);
  }
}
