import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileFormatError, InvalidArgumentError } from '@codestack/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectCorpus, readCorpusSplit } from './collect-corpus.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
let workspace: string;

beforeAll(async () => {
  // A scratch project inside this package, so real packages resolve from the repository's
  // node_modules, plus one locally installed package under a non-permissive license.
  await mkdir(join(packageRoot, '.cache'), { recursive: true });
  workspace = await mkdtemp(join(packageRoot, '.cache', 'collect-'));
  const copyleft = join(workspace, 'node_modules', 'copyleft-package');
  await mkdir(copyleft, { recursive: true });
  await writeFile(join(copyleft, 'package.json'), JSON.stringify({ name: 'copyleft-package', version: '1.0.0', license: 'GPL-3.0-only' }));
  await writeFile(join(copyleft, 'index.js'), 'module.exports = function copyleft() { return 1; };\n');
});
afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
});

describe('collectCorpus', () => {
  it('collects real packages, refuses non-permissive licenses and splits by package', async () => {
    const outputDirectory = join(workspace, 'out');
    const manifest = await collectCorpus({
      packages: ['koa', 'semver', 'copyleft-package', 'not-installed-anywhere'],
      validationPackages: ['semver'],
      resolveFrom: workspace,
      outputDirectory,
    });
    expect(manifest.skipped).toEqual([
      { name: 'copyleft-package', reason: 'license GPL-3.0-only is not permissive' },
      { name: 'not-installed-anywhere', reason: 'not installed' },
    ]);
    expect(manifest.packages.map((record) => [record.name, record.split, record.license])).toEqual([
      ['koa', 'train', 'MIT'],
      ['semver', 'validation', 'ISC'],
    ]);
    const train = await readCorpusSplit(outputDirectory, 'train');
    const validation = await readCorpusSplit(outputDirectory, 'validation');
    expect(new Set(train.map((document) => document.package))).toEqual(new Set(['koa']));
    expect(new Set(validation.map((document) => document.package))).toEqual(new Set(['semver']));
    expect(train.length).toBe(manifest.splits.train.files);
    expect(train.every((document) => !document.path.endsWith('.d.ts') && !document.text.includes('\r'))).toBe(true);
    const koaRecord = manifest.packages[0]!;
    expect(koaRecord.bytes).toBe(train.reduce((total, document) => total + Buffer.byteLength(document.text), 0));
  });

  it('drops exact duplicates across packages', async () => {
    const twin = join(workspace, 'node_modules', 'koa-twin');
    await mkdir(join(twin, 'lib'), { recursive: true });
    await writeFile(join(twin, 'package.json'), JSON.stringify({ name: 'koa-twin', version: '1.0.0', license: 'MIT' }));
    const original = await readFile(join(packageRoot, '..', '..', 'node_modules', 'koa', 'lib', 'context.js'), 'utf8');
    await writeFile(join(twin, 'lib', 'context.js'), original);
    const manifest = await collectCorpus({
      packages: ['koa', 'koa-twin'],
      validationPackages: [],
      resolveFrom: workspace,
      outputDirectory: join(workspace, 'twin-out'),
    });
    const twinRecord = manifest.packages.find((record) => record.name === 'koa-twin')!;
    expect(twinRecord.files).toBe(0);
    expect(twinRecord.duplicates).toBe(1);
  });

  it('refuses a split file that does not match its manifest', async () => {
    const outputDirectory = join(workspace, 'corrupt-out');
    await collectCorpus({ packages: ['koa'], validationPackages: [], resolveFrom: workspace, outputDirectory });
    await writeFile(join(outputDirectory, 'train.jsonl'), '{"package":"koa","path":"x.js","text":"tampered"}\n');
    const failure = await readCorpusSplit(outputDirectory, 'train').catch((error: unknown) => error);
    expect(FileFormatError.isInstance(failure)).toBe(true);
    expect((failure as FileFormatError).code).toBe('CORRUPT_FILE');
  });

  it('rejects a package in two splits and honours an aborted signal', async () => {
    await expect(
      collectCorpus({ packages: ['koa'], validationPackages: ['koa'], domainPackages: ['koa'], resolveFrom: workspace, outputDirectory: workspace }),
    ).rejects.toSatisfy(InvalidArgumentError.isInstance);
    const controller = new AbortController();
    controller.abort();
    await expect(
      collectCorpus({ packages: ['koa'], validationPackages: [], resolveFrom: workspace, outputDirectory: workspace, signal: controller.signal }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
