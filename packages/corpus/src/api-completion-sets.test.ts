import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCompletionCases } from '@codestack/orchestrator/evaluation';
import { describe, expect, it } from 'vitest';
import { apiCaseKey, buildApiCompletionSets, coreModuleBindings, coreModuleMembers, fileApiCases, readApiCompletionFile, splitApiPackages, type ApiCompletionCase, type ApiCompletionSetsManifest } from './api-completion-sets.js';
import { corpusPackages } from './corpus-packages.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const committed = join(packageRoot, 'data', 'api-completion');

describe('coreModuleBindings', () => {
  it('finds require, namespace, default and __importStar bindings of core modules, and nothing else', () => {
    const text = [
      "const fs = require('fs');",
      'import * as nodePath from "node:path";',
      "import os, { EOL } from 'os';",
      'const crypto_1 = __importStar(require("crypto"));',
      "const lodash = require('lodash');",
      "const fsx = require('fs-extra');",
    ].join('\n');
    expect([...coreModuleBindings(text)].sort()).toEqual([
      ['crypto_1', 'crypto'],
      ['fs', 'fs'],
      ['nodePath', 'path'],
      ['os', 'os'],
    ]);
  });
});

describe('fileApiCases', () => {
  it('asks for real members after the module object, skipping comments, strings, unknown members and property chains', async () => {
    const text = [
      "const fs = require('fs');",
      "const path = require('path');",
      '// fs.readFileSync in a comment',
      "const s = 'path.join in a string';",
      'const a = fs.readFileSync(file);',
      'const b = path.notAMember;',
      'const c = this.path.join(x);',
      'const d = path.join(a, b);',
    ].join('\n');
    const cases = await fileApiCases(text, 'p@1/index.js', { casesPerFile: 10 });
    expect(cases.map((testCase) => [testCase.module, testCase.expected, testCase.identifier])).toEqual([
      ['fs', '.readFileSync', 'readFileSync'],
      ['path', '.join', 'join'],
    ]);
    expect(cases[0]!.prefix.endsWith('const a = fs')).toBe(true);
    expect(cases[1]!.prefix.endsWith('const d = path')).toBe(true);
    expect(cases[1]!.path).toBe('p@1/index.js:8');
    // The prefix is cut at a line start when the file is longer than the limit.
    const long = await fileApiCases(`${"const fs = require('fs');\n"}${'x();\n'.repeat(200)}fs.statSync(p);`, 'p', { maximumPrefixCharacters: 100 });
    expect(long[0]!.prefix.length).toBeLessThanOrEqual(100);
    expect(long[0]!.prefix.startsWith('x();')).toBe(true);
  });
});

describe('splitApiPackages', () => {
  it('deals packages into disjoint sides, the same for a seed and differently for another', () => {
    const names = Array.from({ length: 20 }, (_, index) => `package-${index}`);
    const split = splitApiPackages(names, 1);
    expect(split.validation).toHaveLength(10);
    expect([...split.validation, ...split.test].sort()).toEqual([...names].sort());
    expect(split.validation.filter((name) => split.test.includes(name))).toEqual([]);
    expect(splitApiPackages([...names].reverse(), 1)).toEqual(split);
    expect(splitApiPackages(names, 2)).not.toEqual(split);
  });
});

async function checkCase(testCase: ApiCompletionCase): Promise<void> {
  expect(testCase.kind).toBe('next-identifier');
  expect(testCase.expected).toBe(`.${testCase.identifier}`);
  expect((await coreModuleMembers(testCase.module)).has(testCase.identifier)).toBe(true);
  expect(testCase.prefix).toMatch(/[\w$]$/);
}

describe('buildApiCompletionSets', () => {
  it('is deterministic, refuses corpus packages and keeps validation and test apart', async () => {
    const options = { resolveFrom: packageRoot, packages: ['fs-extra', 'isexe', 'watchpack', 'fast-glob', 'semver'], casesPerPackage: 5 };
    const first = await buildApiCompletionSets(options);
    expect(await buildApiCompletionSets(options)).toEqual(first);
    expect(first.skipped).toEqual([{ name: 'semver', reason: 'in the training corpus' }]);
    expect(first.packages.validation.length + first.packages.test.length).toBe(4);
    const packageOf = (testCase: ApiCompletionCase): string => testCase.path.slice(0, testCase.path.indexOf('@', 1));
    for (const testCase of first.validation) expect(first.packages.validation).toContain(packageOf(testCase));
    for (const testCase of first.test) expect(first.packages.test).toContain(packageOf(testCase));
    for (const testCase of [...first.validation, ...first.test]) await checkCase(testCase);
    for (const document of first.heldOutText) expect(first.packages.test).toContain(document.package);
  });
});

describe('buildApiCompletionSets on a package that ships its source twice', () => {
  it('keeps one copy of a source/build pair (the source), skips *.test.* and *.spec.* files, and drops repeated cases', async () => {
    const root = await mkdtemp(join(tmpdir(), 'api-sets-'));
    try {
      const directory = join(root, 'node_modules', 'twice');
      const body = (typed: boolean): string =>
        [
          "import * as fs from 'node:fs';",
          "import * as path from 'node:path';",
          '',
          ...Array.from({ length: 12 }, (_, index) =>
            [
              `export function readConfig${index}(directory${typed && index === 0 ? ': string' : ''}) {`,
              `  const file = path.join(directory, 'config-${index}.json');`,
              `  if (!fs.existsSync(file)) return '';`,
              `  return fs.readFileSync(file, 'utf8').trim() + ${index};`,
              '}',
            ].join('\n'),
          ),
        ].join('\n');
      const files: Record<string, string> = {
        'package.json': JSON.stringify({ name: 'twice', version: '1.0.0', license: 'MIT' }),
        'src/index.ts': body(true),
        // The build: types stripped, reindented, a banner; a near duplicate, not an identical file.
        'dist/index.mjs': `// built by a bundler\n${body(false).replace(/^ {2}/gm, '    ')}\n`,
        'src/index.test.ts': "import * as fs from 'node:fs';\nfs.rmSync('x');\nfs.mkdirSync('y');\n",
        'src/index.spec.js': "const os = require('os');\nos.tmpdir();\n",
      };
      for (const [name, text] of Object.entries(files)) {
        await mkdir(dirname(join(directory, name)), { recursive: true });
        await writeFile(join(directory, name), text);
      }
      const sets = await buildApiCompletionSets({ resolveFrom: root, packages: ['twice'], validationShare: 0, casesPerFile: 100, casesPerPackage: 100 });
      // The file-level check (keepDistinct) drops the build: only the source is read at all.
      expect(sets.heldOutText.map((document) => document.path)).toEqual(['twice@1.0.0/src/index.ts']);
      const paths = new Set(sets.test.map((testCase) => testCase.path.slice(0, testCase.path.lastIndexOf(':'))));
      expect([...paths]).toEqual(['twice@1.0.0/src/index.ts']);
      expect(sets.test.length).toBeGreaterThan(0);
      const keys = sets.test.map((testCase) => apiCaseKey('twice', testCase));
      expect(new Set(keys).size).toBe(keys.length);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('gives a TypeScript source and its build the same case key', () => {
    const ask = (prefix: string): ApiCompletionCase => ({ prefix, expected: '.lstat', kind: 'next-identifier', path: 'p@1/x:1', module: 'fs', identifier: 'lstat' });
    expect(apiCaseKey('p', ask('let changesets = await pFilter(dirs, async (dir) =>\n    (await fs'))).toBe(apiCaseKey('p', ask('let changesets = await pFilter(dirs, async dir => (await fs')));
    expect(apiCaseKey('p', ask('await fs'))).not.toBe(apiCaseKey('q', ask('await fs')));
  });
});

describe('the committed sets (data/api-completion)', () => {
  it('match their manifest, come from disjoint packages outside the corpus, and parse as `eval completion --cases` input', async () => {
    const manifest = JSON.parse(await readFile(join(committed, 'manifest.json'), 'utf8')) as ApiCompletionSetsManifest;
    const { validation, test } = manifest.packages;
    expect(validation.filter((name) => test.includes(name))).toEqual([]);
    for (const name of [...validation, ...test]) expect(corpusPackages).not.toContain(name);
    for (const side of ['validation', 'test'] as const) {
      const body = await readApiCompletionFile(committed, side);
      const rows = body.trim().split('\n').map((line) => JSON.parse(line) as ApiCompletionCase);
      expect(rows.length).toBeGreaterThanOrEqual(100);
      expect(parseCompletionCases(body)).toHaveLength(rows.length);
      for (const row of rows) {
        await checkCase(row);
        expect(manifest.packages[side].some((name) => row.path.startsWith(`${name}@`))).toBe(true);
      }
    }
    const heldOut = (await readApiCompletionFile(committed, 'held-out-text')).trim().split('\n').map((line) => JSON.parse(line) as { package: string });
    for (const document of heldOut) expect(test).toContain(document.package);
  });
});
