import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * Finds an installed npm package the way Node does for a bare import: the nearest
 * `node_modules/<name>/package.json` in `from` or any directory above it. Returns the package
 * directory, or `undefined` when none is installed. Unlike `require.resolve`, it works for
 * packages whose `exports` hide `package.json` and for packages with no entry point (`@types/*`).
 */
export function findInstalledPackage(name: string, from: string): string | undefined {
  let directory = resolve(from);
  for (;;) {
    const candidate = join(directory, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    const parent = dirname(directory);
    if (parent === directory) return undefined;
    directory = parent;
  }
}
