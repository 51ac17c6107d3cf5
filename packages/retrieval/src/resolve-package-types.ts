import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, parse, resolve } from 'node:path';
import { InvalidArgumentError, findInstalledPackage } from '@codestack/core';
import { PackageNotFoundError } from './package-not-found-error.js';
import { TypesNotFoundError } from './types-not-found-error.js';

/** Where a package's TypeScript declarations start. */
export interface ResolvedPackageTypes {
  /** The package name from its `package.json`, such as `@types/node`. */
  packageName: string;
  /** The package version from its `package.json`. */
  version: string;
  /** The package's root directory. */
  packageRoot: string;
  /** The absolute path of the declaration file to start from. */
  typesEntry: string;
}

/** Options of {@link resolvePackageTypes}. */
export interface ResolvePackageTypesOptions {
  /** The directory to resolve package names from (its `node_modules` and those above). Defaults to `process.cwd()`. */
  from?: string;
}

const packageNamePattern = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;

/**
 * Resolves an installed package name (or a path to a package directory or a `.d.ts` file) to
 * its declaration entry: `types`/`typings`, the `types` condition of `exports["."]`, an
 * `index.d.ts` beside `package.json`, the `.d.ts` twin of `main`, or `@types/<name>`.
 *
 * @throws InvalidArgumentError when `packageNameOrPath` is not a valid npm package name or path.
 * @throws PackageNotFoundError when no such package is installed.
 * @throws TypesNotFoundError when the package has no declarations and no `@types` package.
 */
export function resolvePackageTypes(
  packageNameOrPath: string,
  options: ResolvePackageTypesOptions = {},
): ResolvedPackageTypes {
  const from = resolve(options.from ?? process.cwd());
  if (isPathLike(packageNameOrPath)) return resolvePath(resolve(from, packageNameOrPath), packageNameOrPath);
  if (!packageNamePattern.test(packageNameOrPath)) {
    throw new InvalidArgumentError({
      argument: 'packageNameOrPath',
      message: `'${packageNameOrPath}' is neither a valid npm package name nor a path`,
    });
  }
  const packageRoot = findInstalledPackage(packageNameOrPath, from);
  if (packageRoot === undefined) {
    const typesRoot = findInstalledPackage(typesPackageName(packageNameOrPath), from);
    if (typesRoot !== undefined) return fromPackageRoot(typesRoot, packageNameOrPath);
    throw new PackageNotFoundError({
      packageName: packageNameOrPath,
      message: `Package '${packageNameOrPath}' is not installed in or above ${from}`,
    });
  }
  try {
    return fromPackageRoot(packageRoot, packageNameOrPath);
  } catch (error) {
    if (!TypesNotFoundError.isInstance(error)) throw error;
    const typesRoot = findInstalledPackage(typesPackageName(packageNameOrPath), from);
    if (typesRoot === undefined) throw error;
    return fromPackageRoot(typesRoot, packageNameOrPath);
  }
}

function isPathLike(value: string): boolean {
  return value.startsWith('.') || isAbsolute(value) || value.endsWith('.d.ts') || value.endsWith('.d.mts');
}

function typesPackageName(name: string): string {
  return name.startsWith('@') ? `@types/${name.slice(1).replace('/', '__')}` : `@types/${name}`;
}

function resolvePath(path: string, asked: string): ResolvedPackageTypes {
  if (!existsSync(path)) {
    throw new PackageNotFoundError({ packageName: asked, message: `Path '${path}' does not exist` });
  }
  if (statSync(path).isDirectory()) return fromPackageRoot(path, asked);
  let directory = dirname(path);
  while (!existsSync(join(directory, 'package.json')) && directory !== parse(directory).root) directory = dirname(directory);
  const manifest = existsSync(join(directory, 'package.json')) ? readManifest(directory, asked) : {};
  return {
    packageName: typeof manifest.name === 'string' ? manifest.name : asked,
    version: typeof manifest.version === 'string' ? manifest.version : '0.0.0',
    packageRoot: directory,
    typesEntry: path,
  };
}

type Manifest = Record<string, unknown>;

function readManifest(packageRoot: string, asked: string): Manifest {
  const path = join(packageRoot, 'package.json');
  if (!existsSync(path)) {
    throw new PackageNotFoundError({ packageName: asked, message: `${packageRoot} has no package.json` });
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch (cause) {
    throw new PackageNotFoundError({ packageName: asked, message: `${path} is not valid JSON`, cause });
  }
}

function fromPackageRoot(packageRoot: string, asked: string): ResolvedPackageTypes {
  const manifest = readManifest(packageRoot, asked);
  const packageName = typeof manifest.name === 'string' ? manifest.name : asked;
  const candidates: string[] = [];
  for (const key of ['types', 'typings']) {
    const value = manifest[key];
    if (typeof value === 'string') candidates.push(value);
  }
  const exportsTypes = typesFromExports(manifest.exports);
  if (exportsTypes !== undefined) candidates.push(exportsTypes);
  candidates.push('index.d.ts');
  if (typeof manifest.main === 'string') candidates.push(manifest.main.replace(/\.(c|m)?js$/, '.d.$1ts'));
  for (const candidate of candidates) {
    const path = resolve(packageRoot, candidate);
    if (existsSync(path) && statSync(path).isFile()) {
      return {
        packageName,
        version: typeof manifest.version === 'string' ? manifest.version : '0.0.0',
        packageRoot,
        typesEntry: path,
      };
    }
  }
  throw new TypesNotFoundError({
    packageName,
    message: `Package '${packageName}' (${packageRoot}) ships no TypeScript declarations and no @types package is installed`,
  });
}

function typesFromExports(exportsField: unknown): string | undefined {
  if (exportsField === null || typeof exportsField !== 'object') return undefined;
  const record = exportsField as Record<string, unknown>;
  const root = '.' in record ? record['.'] : Object.keys(record).some((key) => key.startsWith('.')) ? undefined : record;
  return findTypesCondition(root);
}

function findTypesCondition(value: unknown): string | undefined {
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = findTypesCondition(item);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.types === 'string') return record.types;
  for (const condition of ['import', 'node', 'require', 'default']) {
    const found = findTypesCondition(record[condition]);
    if (found !== undefined) return found;
  }
  return undefined;
}
