import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findInstalledPackage } from './installed-package.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'codestack-installed-'));
  for (const [directory, name] of [
    ['node_modules/outer', 'outer'],
    ['project/node_modules/@scope/inner', '@scope/inner'],
    ['project/node_modules/outer', 'outer'],
  ]) {
    await mkdir(join(root, directory!), { recursive: true });
    await writeFile(join(root, directory!, 'package.json'), JSON.stringify({ name }));
  }
  await mkdir(join(root, 'project', 'src', 'deep'), { recursive: true });
  await mkdir(join(root, 'project', 'node_modules', 'no-manifest'), { recursive: true });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('findInstalledPackage', () => {
  it('finds the nearest installed copy, walking up from a nested directory', () => {
    const from = join(root, 'project', 'src', 'deep');
    expect(findInstalledPackage('outer', from)).toBe(join(root, 'project', 'node_modules', 'outer'));
    expect(findInstalledPackage('@scope/inner', from)).toBe(join(root, 'project', 'node_modules', '@scope', 'inner'));
    expect(findInstalledPackage('outer', root)).toBe(join(root, 'node_modules', 'outer'));
  });

  it('returns undefined for a missing package or a directory without package.json', () => {
    expect(findInstalledPackage('never-installed-package', join(root, 'project'))).toBeUndefined();
    expect(findInstalledPackage('no-manifest', join(root, 'project'))).toBeUndefined();
  });
});
