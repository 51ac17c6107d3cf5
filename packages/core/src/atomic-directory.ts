import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex, syncDirectory, writeFileAtomic } from './atomic-file.js';
import { CodestackError } from './codestack-error.js';
import { FileFormatError } from './file-format-error.js';
import { InvalidArgumentError } from './invalid-argument-error.js';

/**
 * The name of the manifest that {@link writeDirectoryAtomic} keeps in a directory: the SHA-256
 * and size of every file the directory's last save wrote.
 */
export const directoryManifestFileName = 'codestack-manifest.json';

/** The lock file that serialises saves into one directory. */
const lockFileName = '.codestack-save.lock';
const stagedSuffix = '.codestack-staged';
/** The temporary names `writeFileAtomic` uses: `.<name>.<pid>.<12 hex>.tmp`. */
const temporaryPattern = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;
const maximumManifestBytes = 1 << 20;
const maximumFileNameLength = 200;

/** One file of a {@link DirectoryManifest}. */
export interface DirectoryManifestEntry {
  /** The SHA-256 of the file's bytes, lowercase hex. */
  sha256: string;
  /** The file's size in bytes. */
  bytes: number;
}

/** The content of `codestack-manifest.json`. */
export interface DirectoryManifest {
  /** Always `codestack-directory`. */
  format: 'codestack-directory';
  /** Always 1. */
  version: 1;
  /** Every covered file by name. */
  files: Record<string, DirectoryManifestEntry>;
}

/** Options of {@link writeDirectoryAtomic}. */
export interface WriteDirectoryOptions {
  /** How long to wait for another save into the same directory to finish. Default 60 000 ms. */
  lockTimeoutMilliseconds?: number;
}

/** Options of {@link DirectoryFiles.read}. */
export interface ReadDirectoryFileOptions {
  /** Refuse (`CORRUPT_FILE`) before reading when the file is larger than this. */
  maximumBytes?: number;
}

/** A directory opened by {@link openDirectoryFiles}: reads its files checked against its manifest. */
export interface DirectoryFiles {
  /** The directory. */
  readonly directory: string;
  /** The manifest, or `undefined` for a directory without one (not written by codestack). */
  readonly manifest: DirectoryManifest | undefined;
  /**
   * The size of a file in bytes, without reading it: the manifest's size when there is a
   * manifest, the file system's otherwise. `MISSING_FILE` when absent (or not in the manifest).
   */
  size(name: string): Promise<number>;
  /**
   * Reads a file. With a manifest, the bytes must have the recorded size and SHA-256 (a copy
   * staged by a save that was interrupted after it committed is used when the file under its
   * own name is still the old one); otherwise `CORRUPT_FILE`. A file the manifest does not list
   * is refused (`CORRUPT_FILE`). Without a manifest the bytes are returned unchecked.
   */
  read(name: string, options?: ReadDirectoryFileOptions): Promise<Uint8Array>;
}

/**
 * Whether `name` is one of the entries {@link writeDirectoryAtomic} makes in a directory besides
 * the files it is given and the manifest: its lock file (`.codestack-save.lock`), a staged copy
 * (`.<name>.<sha256>.codestack-staged`) or a `writeFileAtomic` temporary
 * (`.<name>.<pid>.<12 hex>.tmp`). They exist while a save runs, and stay behind when one is
 * interrupted until the next save or load tidies them; so a directory that holds only its own
 * files, the manifest and such entries holds nothing else.
 */
export function isDirectorySaveEntry(name: string): boolean {
  return name === lockFileName || (name.startsWith('.') && name.endsWith(stagedSuffix)) || temporaryPattern.test(name);
}

/** The staged copy of `name` with content `sha256` (written before the commit, renamed into place after it). */
function stagedName(name: string, sha256: string): string {
  return `.${name}.${sha256}${stagedSuffix}`;
}

function checkFileName(name: string): void {
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > maximumFileNameLength ||
    name.startsWith('.') ||
    /[/\\\0]/.test(name) ||
    name === directoryManifestFileName
  ) {
    throw new InvalidArgumentError({ argument: 'files', message: `${JSON.stringify(name)} is not a plain file name that a directory save may write` });
  }
}

function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as NodeJS.ErrnoException).code : undefined;
}

/** Parses and checks a manifest's bytes; `path` names it in errors. */
export function parseDirectoryManifest(bytes: Uint8Array, path: string): DirectoryManifest {
  const corrupt = (message: string, cause?: unknown): FileFormatError => new FileFormatError({ path, reason: 'corrupt', message, cause });
  if (bytes.length > maximumManifestBytes) throw corrupt(`${bytes.length} bytes; a manifest has at most ${maximumManifestBytes}`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw corrupt('not valid UTF-8 JSON', error);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw corrupt('not a JSON object');
  const record = json as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!['format', 'version', 'files'].includes(key)) throw corrupt(`unknown field ${JSON.stringify(key)}`);
  if (record.format !== 'codestack-directory' || record.version !== 1) throw corrupt('not a codestack-directory manifest of version 1');
  const files = record.files;
  if (typeof files !== 'object' || files === null || Array.isArray(files)) throw corrupt('files is not an object');
  const checked: Record<string, DirectoryManifestEntry> = Object.create(null) as Record<string, DirectoryManifestEntry>;
  for (const [name, entry] of Object.entries(files as Record<string, unknown>)) {
    try {
      checkFileName(name);
    } catch (error) {
      throw corrupt(`lists an invalid file name ${JSON.stringify(name)}`, error);
    }
    const { sha256, bytes: size, ...rest } = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    if (Object.keys(rest).length > 0 || typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256) || !Number.isSafeInteger(size) || (size as number) < 0) {
      throw corrupt(`the entry of ${name} is not { sha256, bytes }`);
    }
    checked[name] = { sha256, bytes: size as number };
  }
  return { format: 'codestack-directory', version: 1, files: checked };
}

async function readManifest(directory: string): Promise<DirectoryManifest | undefined> {
  const path = join(directory, directoryManifestFileName);
  let bytes: Uint8Array;
  try {
    const size = (await stat(path)).size;
    if (size > maximumManifestBytes) throw new FileFormatError({ path, reason: 'corrupt', message: `${size} bytes; a manifest has at most ${maximumManifestBytes}` });
    bytes = await readFile(path);
  } catch (error) {
    if (FileFormatError.isInstance(error)) throw error;
    if (errorCode(error) === 'ENOENT') return undefined;
    throw new FileFormatError({ path, reason: 'missing', message: 'cannot read the manifest', cause: error });
  }
  return parseDirectoryManifest(bytes, path);
}

/**
 * Finishes an interrupted save (renames staged copies named in the manifest into place) and
 * removes what interrupted saves left behind: other staged copies, and `writeFileAtomic`
 * temporaries of processes that no longer run. Call only while holding the directory's lock.
 */
async function recoverAndSweep(directory: string, manifest: DirectoryManifest | undefined): Promise<void> {
  const entries = await readdir(directory);
  let renamed = false;
  if (manifest !== undefined) {
    for (const [name, entry] of Object.entries(manifest.files)) {
      const staged = stagedName(name, entry.sha256);
      if (entries.includes(staged)) {
        await rename(join(directory, staged), join(directory, name));
        renamed = true;
      }
    }
  }
  if (renamed) await syncDirectory(directory);
  for (const entry of entries) {
    const temporary = temporaryPattern.exec(entry);
    const stale = (entry.startsWith('.') && entry.endsWith(stagedSuffix)) || (temporary !== null && !isProcessAlive(Number(temporary[1])));
    if (stale) await rm(join(directory, entry), { force: true });
  }
}

async function acquireLock(directory: string, timeoutMilliseconds: number): Promise<() => Promise<void>> {
  const path = join(directory, lockFileName);
  const deadline = Date.now() + timeoutMilliseconds;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(String(process.pid));
      } finally {
        await handle.close();
      }
      return async () => {
        await rm(path, { force: true });
      };
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
    }
    let owner = Number.NaN;
    try {
      owner = Number((await readFile(path, 'utf8')).trim());
    } catch {
      // Removed meanwhile, or written half: decided below.
    }
    const ownerless = !(Number.isSafeInteger(owner) && owner > 0);
    let stale = !ownerless && !isProcessAlive(owner);
    if (ownerless) {
      // Killed between creating the lock and writing its pid: stale once it is a few seconds old.
      const modified = await stat(path).then((info) => info.mtimeMs, () => Date.now());
      stale = Date.now() - modified > 2_000;
    }
    if (stale) {
      // Its process was killed mid-save: the lock is stale.
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new CodestackError({ code: 'DIRECTORY_LOCKED', message: `${directory}: another save (process ${String(owner)}) has held ${lockFileName} for over ${timeoutMilliseconds} ms` });
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Writes a set of files into `directory` (created if needed) as one atomic change: after a crash
 * at any point, {@link openDirectoryFiles} finds either every file as it was before or every
 * file as this call wrote it, never a mix. The files keep their plain names (`config.json`,
 * `model.safetensors`, ...), so other tools still read the directory.
 *
 * How: each file is first written as a staged copy named by its content's SHA-256 (temporary
 * file, fsync, rename, directory fsync); then `codestack-manifest.json`, which lists the SHA-256
 * and size of every file, is replaced atomically, which is the commit; then the staged copies
 * are renamed over the plain names. A reader that finds a plain file that does not match the
 * manifest uses its staged copy. The next save (under a lock file, so saves into one directory
 * never interleave) finishes such renames and removes the leftovers of interrupted saves; so
 * does a load, when it can take the lock at once.
 *
 * Files of the directory that this call does not write are left alone; those the previous
 * manifest listed stay listed.
 */
export async function writeDirectoryAtomic(
  directory: string,
  files: ReadonlyMap<string, string | Uint8Array>,
  options: WriteDirectoryOptions = {},
): Promise<DirectoryManifest> {
  if (!(files instanceof Map) || files.size === 0) throw new InvalidArgumentError({ argument: 'files', message: 'expected a non-empty Map of file names to contents' });
  for (const name of files.keys()) checkFileName(name);
  await mkdir(directory, { recursive: true });
  const release = await acquireLock(directory, options.lockTimeoutMilliseconds ?? 60_000);
  try {
    const previous = await readManifest(directory).catch((error: unknown) => {
      // A damaged manifest is replaced: the files it described are unverifiable anyway.
      if (FileFormatError.isInstance(error) && error.reason === 'corrupt') return undefined;
      throw error;
    });
    await recoverAndSweep(directory, previous);
    const manifest: DirectoryManifest = { format: 'codestack-directory', version: 1, files: {} };
    const staged: [string, string][] = [];
    for (const [name, data] of files) {
      const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
      const sha256 = sha256Hex(bytes);
      manifest.files[name] = { sha256, bytes: bytes.length };
      const stagedFile = stagedName(name, sha256);
      await writeFileAtomic(join(directory, stagedFile), bytes);
      staged.push([stagedFile, name]);
    }
    if (previous !== undefined) {
      for (const [name, entry] of Object.entries(previous.files)) {
        if (!files.has(name)) manifest.files[name] = entry;
      }
    }
    const ordered = Object.fromEntries(Object.entries(manifest.files).sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0)));
    manifest.files = ordered;
    // The commit: from here on, readers see the new state.
    await writeFileAtomic(join(directory, directoryManifestFileName), `${JSON.stringify(manifest, null, 2)}\n`);
    for (const [stagedFile, name] of staged) await rename(join(directory, stagedFile), join(directory, name));
    await syncDirectory(directory);
    return manifest;
  } finally {
    await release();
  }
}

async function sizeOrUndefined(path: string): Promise<number | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : undefined;
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return undefined;
    throw new FileFormatError({ path, reason: 'missing', message: 'cannot stat the file', cause: error });
  }
}

async function readOrRefuse(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new FileFormatError({ path, reason: 'missing', message: 'cannot read the file', cause: error });
  }
}

/**
 * Opens a directory for verified reads (see {@link DirectoryFiles}). Reads
 * `codestack-manifest.json` when present (`CORRUPT_FILE` when it is damaged). When the directory
 * holds leftovers of an interrupted save and no save is running, they are cleaned up
 * (best effort: a read-only directory is read as it is).
 */
export async function openDirectoryFiles(directory: string): Promise<DirectoryFiles> {
  const manifest = await readManifest(directory);
  await tidyIfIdle(directory, manifest);
  const entryOf = (name: string): DirectoryManifestEntry => {
    const entry = manifest?.files[name];
    if (entry === undefined) {
      throw new FileFormatError({ path: join(directory, name), reason: 'corrupt', message: `${directoryManifestFileName} does not list this file` });
    }
    return entry;
  };
  return {
    directory,
    manifest,
    async size(name) {
      const path = join(directory, name);
      if (manifest !== undefined) return entryOf(name).bytes;
      const size = await sizeOrUndefined(path);
      if (size === undefined) throw new FileFormatError({ path, reason: 'missing', message: 'cannot read the file: it does not exist' });
      return size;
    },
    async read(name, { maximumBytes = Number.MAX_SAFE_INTEGER } = {}) {
      const path = join(directory, name);
      if (manifest === undefined) {
        const size = await sizeOrUndefined(path);
        if (size === undefined) throw new FileFormatError({ path, reason: 'missing', message: 'cannot read the file: it does not exist' });
        if (size > maximumBytes) throw new FileFormatError({ path, reason: 'corrupt', message: `${size} bytes; at most ${maximumBytes} expected` });
        return readOrRefuse(path);
      }
      const entry = entryOf(name);
      if (entry.bytes > maximumBytes) {
        throw new FileFormatError({ path, reason: 'corrupt', message: `${directoryManifestFileName} records ${entry.bytes} bytes; at most ${maximumBytes} expected` });
      }
      let found = false;
      // Twice: a save running now may rename the staged copy into place between the two looks.
      for (const candidate of [path, join(directory, stagedName(name, entry.sha256)), path]) {
        const size = await sizeOrUndefined(candidate);
        if (size === undefined) continue;
        found = true;
        if (size !== entry.bytes) continue;
        const bytes = await readOrRefuse(candidate);
        if (sha256Hex(bytes) === entry.sha256) return bytes;
      }
      if (!found) throw new FileFormatError({ path, reason: 'missing', message: `cannot read the file that ${directoryManifestFileName} lists: it does not exist` });
      throw new FileFormatError({ path, reason: 'corrupt', message: `size or SHA-256 differs from ${directoryManifestFileName}` });
    },
  };
}

async function tidyIfIdle(directory: string, manifest: DirectoryManifest | undefined): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(directory);
  } catch {
    return;
  }
  if (!entries.some(isDirectorySaveEntry)) return;
  let release: (() => Promise<void>) | undefined;
  try {
    release = await acquireLock(directory, 0);
    // Re-read under the lock: a save may have committed since.
    await recoverAndSweep(directory, (await readManifest(directory)) ?? manifest);
  } catch {
    // Busy or read-only: the reads below still find the committed state.
  } finally {
    await release?.().catch(() => undefined);
  }
}
