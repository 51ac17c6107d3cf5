import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import { createFixtureProject, packageDirectory } from './__fixtures__/fixture-project.js';
import { PackageNotFoundError } from './package-not-found-error.js';
import { resolvePackageTypes } from './resolve-package-types.js';
import { TypesNotFoundError } from './types-not-found-error.js';

let project: string;
beforeAll(async () => {
  project = await createFixtureProject();
});
afterAll(async () => {
  await rm(project, { recursive: true, force: true });
});

describe('resolvePackageTypes', () => {
  it('uses the types field', () => {
    const resolved = resolvePackageTypes('sample-package', { from: project });
    expect(resolved).toMatchObject({ packageName: 'sample-package', version: '1.2.3' });
    expect(resolved.typesEntry).toBe(join(project, 'node_modules/sample-package/lib/index.d.ts'));
  });

  it('uses the types condition of exports', () => {
    expect(resolvePackageTypes('exports-package', { from: project }).typesEntry).toBe(
      join(project, 'node_modules/exports-package/types/main.d.mts'),
    );
  });

  it('falls back to @types/<name> and resolves from parent directories', () => {
    const resolved = resolvePackageTypes('node', { from: join(packageDirectory, 'src') });
    expect(resolved.packageName).toBe('@types/node');
    expect(resolved.typesEntry.endsWith('index.d.ts')).toBe(true);
  });

  it('accepts a path to a package directory', () => {
    expect(resolvePackageTypes('./node_modules/sample-package', { from: project }).packageName).toBe('sample-package');
  });

  it('refuses an invalid name, a missing package and a package without types with typed errors', () => {
    expect(() => resolvePackageTypes('Not A Package!', { from: project })).toThrow(InvalidArgumentError);
    const missing = catchError(() => resolvePackageTypes('no-such-package-xyz', { from: project }));
    expect(PackageNotFoundError.isInstance(missing)).toBe(true);
    expect((missing as PackageNotFoundError).code).toBe('PACKAGE_NOT_FOUND');
    const untyped = catchError(() => resolvePackageTypes('untyped-package', { from: project }));
    expect(TypesNotFoundError.isInstance(untyped)).toBe(true);
    expect((untyped as TypesNotFoundError).code).toBe('TYPES_NOT_FOUND');
    expect(PackageNotFoundError.isInstance(catchError(() => resolvePackageTypes('./nowhere', { from: project })))).toBe(true);
  });
});

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
