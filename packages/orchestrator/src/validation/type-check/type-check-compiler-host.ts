import { readdirSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import type ts from 'typescript';

/** Options of {@link createConfinedCompilerHost}. */
export interface ConfinedCompilerHostOptions {
  /** The TypeScript compiler API. */
  compiler: typeof ts;
  /** The absolute project directory: its `node_modules` and those of its ancestors are readable. */
  projectDirectory: string;
  /** In-memory files by absolute path. They are the only source files the program can read. */
  virtualFiles: ReadonlyMap<string, string>;
  /**
   * Parsed declaration files kept between programs (library files do not change while a process
   * runs). A cached file is reused only when the file on disk has the same size and modification time.
   */
  sourceFileCache?: Map<string, CachedSourceFile>;
}

/** One entry of {@link ConfinedCompilerHostOptions.sourceFileCache}. */
export interface CachedSourceFile {
  /** The parsed file. */
  sourceFile: ts.SourceFile;
  /** The file's size when it was parsed. */
  size: number;
  /** The file's modification time when it was parsed. */
  modifiedMilliseconds: number;
}

/** A file name the host may read from disk: declarations and package manifests only. */
function isDeclarationOrManifest(path: string): boolean {
  return /\.d\.(?:c|m)?ts$/.test(path) || path.endsWith(`${sep}package.json`) || path.endsWith('/package.json');
}

/** Whether `path` is `root` or lies inside it (both absolute and free of `..`). */
function isInside(path: string, root: string): boolean {
  if (path === root) return true;
  const rest = relative(root, path);
  return rest !== '' && !rest.startsWith('..') && !isAbsolute(rest);
}

/** The real path of `path` (every symlink resolved, as the kernel would), or undefined when it does not exist. */
function realPathOf(path: string): string | undefined {
  // Most paths the compiler asks about do not exist: find that out without an exception.
  if (statSync(path, { throwIfNoEntry: false }) === undefined) return undefined;
  try {
    return realpathSync.native(path);
  } catch {
    return undefined;
  }
}

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** Whether a path handed over by the compiler is one the host will look at at all. */
function isPlainAbsolutePath(path: string): boolean {
  if (!isAbsolute(path) || path.includes('\0')) return false;
  // The compiler normalises every path it asks for; a `.` or `..` segment can only come from
  // somewhere else, and the kernel would resolve it through symlinks, so it is never looked at.
  return !path.split(/[\\/]/).some((segment) => segment === '.' || segment === '..');
}

/** The nearest ancestor (or the directory itself) whose `package.json` declares npm `workspaces`. */
function findWorkspaceRoot(projectDirectory: string): string {
  let current = projectDirectory;
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(current, 'package.json'), 'utf8')) as { workspaces?: unknown };
      if (manifest.workspaces !== undefined) return current;
    } catch {
      // No manifest, or not JSON: keep looking.
    }
    const parent = dirname(current);
    if (parent === current) return projectDirectory;
    current = parent;
  }
}

/**
 * A compiler host that reads only what a type check of a snippet needs, and answers every other
 * question as if the path did not exist:
 *
 * - the in-memory files (the snippet and any files the caller passed explicitly);
 * - declaration files (`.d.ts`, `.d.mts`, `.d.cts`) and `package.json` files inside the
 *   `node_modules` directories of the project and its ancestors;
 * - declaration files and `package.json` files of a package linked into those `node_modules`
 *   (an npm workspace symlink), when the link's target lies inside the workspace root (the
 *   nearest ancestor whose `package.json` declares `workspaces`, else the project directory);
 * - TypeScript's own library files.
 *
 * Every decision is made on the real path, with symlinks resolved as the kernel resolves them, so
 * a symlink inside an allowed directory that points elsewhere is not followed, and the file is read
 * through that same real path. A denied path and a missing path look the same: the host never
 * reports an error for either, so no diagnostic can tell them apart. Nothing is written.
 */
export function createConfinedCompilerHost(options: ConfinedCompilerHostOptions): ts.CompilerHost {
  const { compiler, projectDirectory, virtualFiles, sourceFileCache } = options;
  const libraryDirectory = dirname(compiler.getDefaultLibFilePath({}));
  const realLibraryDirectory = realPathOf(libraryDirectory) ?? libraryDirectory;
  const workspaceRoot = realPathOf(findWorkspaceRoot(projectDirectory)) ?? projectDirectory;

  // The `node_modules` directories module resolution walks through, as asked for and as real paths.
  const nodeModulesDirectories: Array<{ path: string; real: string }> = [];
  for (let current = projectDirectory; ; current = dirname(current)) {
    const path = join(current, 'node_modules');
    const real = realPathOf(path);
    if (real !== undefined && statOf(real)?.isDirectory()) nodeModulesDirectories.push({ path, real });
    if (dirname(current) === current) break;
  }

  const virtualDirectories = new Set<string>();
  for (const path of virtualFiles.keys()) {
    for (let current = dirname(path); isInside(current, projectDirectory); current = dirname(current)) {
      virtualDirectories.add(current);
      if (current === projectDirectory) break;
    }
  }

  /** The real package root behind `path` when `path` lies in an allowed `node_modules` and links into the workspace. */
  const linkedPackageRoot = (path: string): string | undefined => {
    for (const directory of nodeModulesDirectories) {
      const base = isInside(path, directory.path) ? directory.path : isInside(path, directory.real) ? directory.real : undefined;
      if (base === undefined || path === base) continue;
      const segments = relative(base, path).split(/[\\/]/);
      const nameLength = segments[0]?.startsWith('@') ? 2 : 1;
      if (segments.length < nameLength) continue;
      const real = realPathOf(join(base, ...segments.slice(0, nameLength)));
      if (real !== undefined && isInside(real, workspaceRoot)) return real;
    }
    return undefined;
  };

  /** Whether the real path lies under a directory the host may read. */
  const isReadableLocation = (path: string, real: string): boolean =>
    isInside(real, realLibraryDirectory) ||
    nodeModulesDirectories.some((directory) => isInside(real, directory.real)) ||
    linkedRoots.some((root) => isInside(real, root)) ||
    rememberLinkedRoot(path, real);

  // Real roots of workspace packages reached through an allowed `node_modules` link. The compiler
  // first resolves `node_modules/<name>` and then reads the files under their real paths.
  const linkedRoots: string[] = [];
  const rememberLinkedRoot = (path: string, real: string): boolean => {
    const root = linkedPackageRoot(path);
    if (root === undefined || !isInside(real, root)) return false;
    linkedRoots.push(root);
    // A path denied before this link was known may be allowed now.
    fileDecisions.clear();
    directoryDecisions.clear();
    return true;
  };

  const fileDecisions = new Map<string, string | undefined>();
  /** The real path to read for `path`, or undefined when it is missing or not allowed. */
  const readableFile = (path: string): string | undefined => {
    if (fileDecisions.has(path)) return fileDecisions.get(path);
    let decision: string | undefined;
    if (isPlainAbsolutePath(path) && isDeclarationOrManifest(path)) {
      const real = realPathOf(path);
      if (real !== undefined && isDeclarationOrManifest(real) && isReadableLocation(path, real) && statOf(real)?.isFile()) decision = real;
    }
    fileDecisions.set(path, decision);
    return decision;
  };

  const directoryDecisions = new Map<string, string | undefined>();
  /** The real path of `path` when it is a directory the host may list, else undefined. */
  const visibleDirectory = (path: string): string | undefined => {
    if (directoryDecisions.has(path)) return directoryDecisions.get(path);
    let decision: string | undefined;
    if (virtualDirectories.has(path)) decision = path;
    else if (isPlainAbsolutePath(path)) {
      const real = realPathOf(path);
      if (real !== undefined && isReadableLocation(path, real) && statOf(real)?.isDirectory()) decision = real;
    }
    directoryDecisions.set(path, decision);
    return decision;
  };

  const readFile = (path: string): string | undefined => {
    const virtual = virtualFiles.get(path);
    if (virtual !== undefined) return virtual;
    const real = readableFile(path);
    if (real === undefined) return undefined;
    try {
      return readFileSync(real, 'utf8');
    } catch {
      return undefined;
    }
  };

  const caseSensitive = compiler.sys.useCaseSensitiveFileNames;
  return {
    getSourceFile(path, languageVersionOrOptions) {
      const virtual = virtualFiles.get(path);
      if (virtual !== undefined) return compiler.createSourceFile(path, virtual, languageVersionOrOptions, true);
      const real = readableFile(path);
      if (real === undefined) return undefined;
      const version = typeof languageVersionOrOptions === 'object' ? languageVersionOrOptions.languageVersion : languageVersionOrOptions;
      const format = typeof languageVersionOrOptions === 'object' ? languageVersionOrOptions.impliedNodeFormat : undefined;
      const key = `${version}:${format ?? ''}:${path}`;
      const stats = statOf(real);
      if (stats === undefined) return undefined;
      const cached = sourceFileCache?.get(key);
      if (cached && cached.size === stats.size && cached.modifiedMilliseconds === stats.mtimeMs) return cached.sourceFile;
      const text = readFile(path);
      if (text === undefined) return undefined;
      const sourceFile = compiler.createSourceFile(path, text, languageVersionOrOptions, true);
      sourceFileCache?.set(key, { sourceFile, size: stats.size, modifiedMilliseconds: stats.mtimeMs });
      return sourceFile;
    },
    getDefaultLibFileName: (compilerOptions) => join(libraryDirectory, compiler.getDefaultLibFileName(compilerOptions)),
    getDefaultLibLocation: () => libraryDirectory,
    writeFile: () => undefined,
    getCurrentDirectory: () => projectDirectory,
    getCanonicalFileName: (path) => (caseSensitive ? path : path.toLowerCase()),
    useCaseSensitiveFileNames: () => caseSensitive,
    getNewLine: () => '\n',
    fileExists: (path) => virtualFiles.has(path) || readableFile(path) !== undefined,
    readFile,
    directoryExists: (path) => visibleDirectory(path) !== undefined,
    getDirectories(path) {
      const real = visibleDirectory(path);
      if (real === undefined || virtualDirectories.has(path)) return [];
      try {
        return readdirSync(real, { withFileTypes: true })
          .filter((entry) => entry.isDirectory() || (entry.isSymbolicLink() && visibleDirectory(join(path, entry.name)) !== undefined))
          .map((entry) => entry.name);
      } catch {
        return [];
      }
    },
    realpath: (path) => (virtualFiles.has(path) ? path : (readableFile(path) ?? visibleDirectory(path) ?? path)),
  };
}
