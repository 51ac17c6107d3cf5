// What each public tarball holds (`npm pack --dry-run --json`): a LICENSE, the metadata a registry
// page links to, and no source maps, benches, test helpers or tests.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { root } from './readme-examples.mjs';

const packages = readdirSync(join(root, 'packages'))
  .map((name) => ({ name, directory: join(root, 'packages', name), manifest: JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8')) }))
  .filter(({ manifest }) => !manifest.private);

test.each(packages.map((entry) => [entry.manifest.name, entry]))('%s', (_name, { name, directory, manifest }) => {
  expect(manifest.repository).toEqual({ type: 'git', url: 'git+https://github.com/codestack/codestack.git', directory: `packages/${name}` });
  expect(manifest.homepage).toMatch(/^https:\/\/github\.com\/codestack\/codestack/);
  expect(manifest.bugs).toEqual({ url: 'https://github.com/codestack/codestack/issues' });
  expect(manifest.license).toBe('MIT');
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--silent'], { cwd: directory, encoding: 'utf8' }));
  const files = packed.files.map((file) => file.path);
  expect(files).toContain('LICENSE');
  expect(files).toContain('README.md');
  expect(files).toContain('dist/index.js');
  expect(files).toContain('dist/index.d.ts');
  expect(files.filter((file) => /\.map$|(^|\/)(bench|test-support|plain-node-reference)\.|\.(test|bench)\.|__fixtures__/.test(file))).toEqual([]);
  for (const bin of Object.values(manifest.bin ?? {})) expect(files).toContain(bin.replace(/^\.\//, ''));
});
