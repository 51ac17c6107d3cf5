import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileFormatError } from '@codestack/core';
import { buildCompletionCases, completionSimilarity, isExactCompletion, parseCompletionCases, readCompletionCases, readCompletionSources } from './completion-cases.js';

const source = {
  path: 'src/sum.ts',
  text: [
    "import { readFileSync } from 'node:fs';",
    '',
    '// Adds numbers read from a file.',
    'export function sumFile(path: string): number {',
    "  const text = readFileSync(path, 'utf8');",
    '  // one number per line',
    "  const values = text.split('\\n').map(Number);",
    '  return values.reduce((total, value) => total + value, 0);',
    '}',
    '',
  ].join('\n'),
};

const directories: string[] = [];
afterAll(async () => Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true }))));

describe('buildCompletionCases', () => {
  it('samples code lines after the first four, skipping comments and bare brackets, and cuts each prefix at the line start', () => {
    const cases = buildCompletionCases([source], { casesPerFile: 10 });
    const lines = cases.filter((testCase) => testCase.kind === 'next-line');
    expect(lines.map((testCase) => testCase.line)).toEqual([5, 7, 8]);
    for (const testCase of lines) {
      expect(testCase.prefix.endsWith('\n')).toBe(true);
      expect(source.text.slice(testCase.prefix.length).startsWith(testCase.expected)).toBe(true);
    }
  });

  it('picks the first non-keyword identifier outside strings, keeping the character before it', () => {
    const identifiers = buildCompletionCases([source], { casesPerFile: 10 }).filter((testCase) => testCase.kind === 'next-identifier');
    expect(identifiers.map((testCase) => [testCase.line, testCase.identifier, testCase.expected])).toEqual([
      [5, 'text', ' text'],
      [7, 'values', ' values'],
      [8, 'values', ' values'],
    ]);
    for (const testCase of identifiers) expect(source.text.slice(testCase.prefix.length).startsWith(testCase.expected)).toBe(true);
  });

  it('spreads a small number of cases over the file and is deterministic', () => {
    const first = buildCompletionCases([source], { casesPerFile: 1 });
    expect(first.filter((testCase) => testCase.kind === 'next-line').map((testCase) => testCase.line)).toEqual([7]);
    expect(buildCompletionCases([source], { casesPerFile: 1 })).toEqual(first);
    expect(() => buildCompletionCases([source], { casesPerFile: 0 })).toThrow(/positive integer/);
  });
});

describe('isExactCompletion', () => {
  const [line, identifier] = buildCompletionCases([source], { casesPerFile: 1 });
  it('compares a line without surrounding whitespace, only up to the first newline', () => {
    expect(isExactCompletion(line!, "  const values = text.split('\\n').map(Number);  \n}")).toBe(true);
    expect(isExactCompletion(line!, "  const values = text.split('\\n');")).toBe(false);
  });
  it('accepts the identifier alone, not a longer one', () => {
    expect(isExactCompletion(identifier!, ' values = 1')).toBe(true);
    expect(isExactCompletion(identifier!, ' values')).toBe(true);
    expect(isExactCompletion(identifier!, ' valuesList = 1')).toBe(false);
    expect(isExactCompletion(identifier!, 'values')).toBe(false);
  });
});

describe('readCompletionSources', () => {
  it('reads a directory of sources (not declarations or node_modules), a JSONL split and a single file', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'completion-sources-'));
    directories.push(directory);
    await mkdir(join(directory, 'lib'));
    await mkdir(join(directory, 'node_modules'));
    await writeFile(join(directory, 'lib', 'b.ts'), 'export const b = 2;\n');
    await writeFile(join(directory, 'a.js'), 'exports.a = 1;\n');
    await writeFile(join(directory, 'types.d.ts'), 'export declare const t: 1;\n');
    await writeFile(join(directory, 'notes.md'), '# notes\n');
    await writeFile(join(directory, 'node_modules', 'c.js'), 'c();\n');
    const sources = await readCompletionSources(directory);
    expect(sources.map((entry) => entry.path)).toEqual(['a.js', join('lib', 'b.ts')]);
    const jsonl = join(directory, 'split.jsonl');
    await writeFile(jsonl, `${JSON.stringify({ package: 'x', path: 'x.js', text: 'x();\n' })}\n\n${JSON.stringify({ text: 'y();\n' })}\n`);
    expect(await readCompletionSources(jsonl)).toEqual([
      { path: 'x.js', text: 'x();\n' },
      { path: `${jsonl}:3`, text: 'y();\n' },
    ]);
    expect(await readCompletionSources(join(directory, 'a.js'))).toEqual([{ path: join(directory, 'a.js'), text: 'exports.a = 1;\n' }]);
  });

  it('refuses a missing path and a corrupt JSONL row with a typed error naming the line', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'completion-sources-'));
    directories.push(directory);
    await expect(readCompletionSources(join(directory, 'absent'))).rejects.toSatisfy((error) => FileFormatError.isInstance(error) && error.reason === 'missing');
    const jsonl = join(directory, 'bad.jsonl');
    await writeFile(jsonl, '{"text":"ok"}\n{"path":"no-text"}\n');
    await expect(readCompletionSources(jsonl)).rejects.toThrow(/line 2 has no "text" string/);
    await writeFile(jsonl, '{"text":"ok"}\nnot json\n');
    await expect(readCompletionSources(jsonl)).rejects.toSatisfy((error) => FileFormatError.isInstance(error) && /line 2 is not JSON/.test(error.message));
  });
});

describe('completionSimilarity', () => {
  const [line, identifier] = buildCompletionCases([source], { casesPerFile: 1 });
  it('is 1 for an exact answer, 0 for nothing in common, and in between by edit distance', () => {
    expect(completionSimilarity(line!, "  const values = text.split('\\n').map(Number);")).toBe(1);
    expect(completionSimilarity(line!, '')).toBe(0);
    const expected = line!.expected.trim();
    expect(completionSimilarity(line!, expected.slice(0, -1))).toBeCloseTo(1 - 1 / expected.length, 10);
    expect(completionSimilarity(identifier!, ' values')).toBe(1);
    // ' valuesList' runs on past the identifier: 4 extra characters over 11.
    expect(completionSimilarity(identifier!, ' valuesList = 1')).toBeCloseTo(1 - 4 / 11, 10);
    expect(completionSimilarity(identifier!, ' vals')).toBeCloseTo(1 - 2 / 7, 10);
  });
});

describe('parseCompletionCases', () => {
  it('reads prefix, expected and kind per row, skipping blank lines, scored like drawn cases', () => {
    const text = [
      JSON.stringify({ prefix: 'const x = 1;\n', expected: 'const y = x;', kind: 'next-line' }),
      '',
      JSON.stringify({ prefix: 'const y =', expected: ' x', kind: 'next-identifier', path: 'y.ts' }),
    ].join('\n');
    const cases = parseCompletionCases(text, 'bench.jsonl');
    expect(cases).toEqual([
      { kind: 'next-line', path: 'bench.jsonl:1', line: 1, prefix: 'const x = 1;\n', expected: 'const y = x;' },
      { kind: 'next-identifier', path: 'y.ts', line: 3, prefix: 'const y =', expected: ' x', identifier: 'x' },
    ]);
    expect(isExactCompletion(cases[0]!, ' const y = x;\nmore')).toBe(true);
    expect(isExactCompletion(cases[1]!, ' x;')).toBe(true);
    expect(isExactCompletion(cases[1]!, ' xs')).toBe(false);
    expect(completionSimilarity(cases[1]!, ' x')).toBe(1);
  });

  it('names the line of a malformed row', () => {
    const good = JSON.stringify({ prefix: 'a', expected: 'b', kind: 'next-line' });
    const failure = (text: string): FileFormatError => {
      try {
        parseCompletionCases(text, 'bench.jsonl');
      } catch (error) {
        expect(FileFormatError.isInstance(error)).toBe(true);
        return error as FileFormatError;
      }
      throw new Error('expected a refusal');
    };
    expect(failure(`${good}\n{oops`).message).toMatch(/line 2 is not JSON/);
    expect(failure(`${good}\n\n[1]`).message).toMatch(/line 3 is not a JSON object/);
    expect(failure(JSON.stringify({ expected: 'b', kind: 'next-line' })).message).toMatch(/line 1 has no "prefix"/);
    expect(failure(JSON.stringify({ prefix: 'a', expected: '  ', kind: 'next-line' })).message).toMatch(/line 1 has no non-empty "expected"/);
    expect(failure(JSON.stringify({ prefix: 'a', expected: 'b', kind: 'next-token' })).message).toMatch(/line 1: "kind" must be/);
    expect(failure(JSON.stringify({ prefix: 'a', expected: 'b', kind: 'next-line', path: 3 })).message).toMatch(/line 1: "path" must be a string/);
  });

  it('reads a file, and refuses a missing one', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'codestack-cases-'));
    directories.push(directory);
    const file = join(directory, 'bench.jsonl');
    await writeFile(file, `${JSON.stringify({ prefix: 'a', expected: 'b', kind: 'next-line' })}\n`);
    expect(await readCompletionCases(file)).toHaveLength(1);
    await expect(readCompletionCases(join(directory, 'none.jsonl'))).rejects.toMatchObject({ code: 'MISSING_FILE' });
  });
});
