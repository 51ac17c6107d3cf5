import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { FileFormatError, InvalidArgumentError, throwIfAborted } from '@codestack/core';
import type { DatastoreSource } from './build-datastore-directory.js';

const sourceExtensions = new Set(['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs']);
/** Folders of a project that hold generated or foreign code, skipped under a path (not inside a package). */
const projectSkipped = new Set(['node_modules', 'dist', 'build', 'coverage', 'out']);
/** Larger files are generated or minified code. */
const maximumFileBytes = 1 << 20;

/** Options of {@link readDatastoreSources}. */
export interface ReadDatastoreSourcesOptions {
  /** Where relative paths and package names resolve from. Default `process.cwd()`. */
  cwd?: string;
  /** Cancels between files. */
  signal?: AbortSignal;
}

async function walk(root: string, skipped: ReadonlySet<string>, label: string, sources: DatastoreSource[], signal: AbortSignal | undefined): Promise<void> {
  const visit = async (directory: string): Promise<void> => {
    const entries = await readdir(directory, { withFileTypes: true });
    entries.sort((left, right) => (left.name < right.name ? -1 : left.name > right.name ? 1 : 0));
    for (const entry of entries) {
      throwIfAborted(signal, 'reading datastore sources');
      const full = join(directory, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.') && !skipped.has(entry.name)) await visit(full);
      } else if (entry.isFile() && sourceExtensions.has(extname(entry.name)) && !entry.name.includes('.min.')) {
        if ((await stat(full)).size <= maximumFileBytes) sources.push({ path: join(label, relative(root, full)), text: await readFile(full, 'utf8') });
      }
    }
  };
  await visit(root);
}

/** The directory of the installed package `name`, looked up in `node_modules` from `cwd` upwards. */
function packageDirectory(name: string, cwd: string): string | undefined {
  for (let directory = resolve(cwd); ; directory = dirname(directory)) {
    const candidate = join(directory, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(directory) === directory) return undefined;
  }
}

/**
 * Reads the JavaScript and TypeScript files a datastore is built from, in a stable order. Each
 * input is a path (a directory, walked without `node_modules`, `dist`, `build`, `coverage`, `out`
 * and dot folders, such as `.` for the current project; or one file), or else the name of an
 * installed npm package (its files, declarations included, without nested `node_modules`).
 * Minified (`.min.`) and files over 1 MiB are left out of a walk. Refuses (`MISSING_FILE`) an
 * input that is neither, and (`INVALID_ARGUMENT`) a file named on its own that is over 1 MiB or
 * not a regular file.
 */
export async function readDatastoreSources(inputs: readonly string[], options: ReadDatastoreSourcesOptions = {}): Promise<DatastoreSource[]> {
  const cwd = options.cwd ?? process.cwd();
  const sources: DatastoreSource[] = [];
  for (const input of inputs) {
    const path = resolve(cwd, input);
    if (existsSync(path)) {
      const found = await stat(path);
      if (found.isDirectory()) {
        await walk(path, projectSkipped, relative(cwd, path), sources, options.signal);
        continue;
      }
      // A file named on its own is refused, not skipped, when a walk would leave it out for its size
      // (checked before it is read), or when it is no regular file (a device or a pipe has no end).
      if (!found.isFile()) throw new InvalidArgumentError({ argument: 'inputs', message: `${input} is neither a regular file nor a directory` });
      if (found.size > maximumFileBytes) {
        throw new InvalidArgumentError({ argument: 'inputs', message: `${input} is ${found.size} bytes; files over ${maximumFileBytes} bytes (1 MiB, generated or minified code) are not memorised` });
      }
      sources.push({ path: relative(cwd, path), text: await readFile(path, 'utf8') });
      continue;
    }
    const directory = packageDirectory(input, cwd);
    if (directory === undefined) {
      throw new FileFormatError({ path: input, reason: 'missing', message: `is neither a file or directory nor an installed package (looked in node_modules from ${cwd} upwards)` });
    }
    await walk(directory, new Set(['node_modules']), input, sources, options.signal);
  }
  return sources;
}
