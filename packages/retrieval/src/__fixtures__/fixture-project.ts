import { cp, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's own directory, from which `@types/node` and `hnswlib-node` resolve. */
export const packageDirectory = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A temporary project whose `node_modules` holds copies of the real fixture packages in
 * `test-fixtures/` (`sample-package`, `untyped-package`, `exports-package`).
 */
export async function createFixtureProject(): Promise<string> {
  const project = await mkdtemp(join(tmpdir(), 'codestack-retrieval-'));
  for (const name of ['sample-package', 'untyped-package', 'exports-package']) {
    await mkdir(join(project, 'node_modules'), { recursive: true });
    await cp(join(packageDirectory, 'test-fixtures', name), join(project, 'node_modules', name), { recursive: true });
  }
  return project;
}
