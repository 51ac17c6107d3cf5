import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveTinyCompactModel } from './__fixtures__/tiny-compact-model.js';
import { runCli } from './run-cli.js';

let directory: string;
const modelDirectory = () => join(directory, 'model');

/** Runs the CLI in this process, collecting what it writes. */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await runCli(args, { stdout, stderr, cwd: directory, environment: {} });
  return { code, stdout: out, stderr: err };
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'codestack-eval-cases-'));
  await saveTinyCompactModel(modelDirectory());
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('codestack eval completion --cases', () => {
  it('scores the rows of a user benchmark, each kind apart, with every case in --details', async () => {
    const rows = [
      { prefix: 'export function add(a: number, b: number): number {\n', expected: '  return a + b;', kind: 'next-line' },
      { prefix: 'export function add(a: number, b: number): number {\n  return', expected: ' a', kind: 'next-identifier' },
      { prefix: 'export function add(a: number, b: number): number {\n  return a +', expected: ' b', kind: 'next-identifier', path: 'add.ts' },
    ];
    await writeFile(join(directory, 'cases.jsonl'), `${rows.map((row) => JSON.stringify(row)).join('\n')}\n\n`);
    const result = await run(['eval', 'completion', '--cases', 'cases.jsonl', '--model', modelDirectory(), '--details', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      cases: string;
      nextLine: { cases: number; exact: number; editSimilarity: number };
      nextIdentifier: { cases: number };
      results: { kind: string; path: string; line: number; expected: string; exact: boolean; similarity: number }[];
    };
    expect(report.cases).toBe('cases.jsonl');
    expect(report.nextLine.cases).toBe(1);
    expect(report.nextIdentifier.cases).toBe(2);
    expect(report.results.map((entry) => [entry.kind, entry.line, entry.expected])).toEqual([
      ['next-line', 1, '  return a + b;'],
      ['next-identifier', 2, ' a'],
      ['next-identifier', 3, ' b'],
    ]);
    expect(report.results[2]!.path).toBe('add.ts');
    expect(report.nextLine.editSimilarity).toBeCloseTo(report.results[0]!.similarity, 10);
    for (const entry of report.results) expect(entry.similarity).toBeGreaterThanOrEqual(0);

    const limited = await run(['eval', 'completion', '--cases', 'cases.jsonl', '--limit', '1', '--model', modelDirectory(), '--json']);
    expect(JSON.parse(limited.stdout)).toMatchObject({ nextLine: { cases: 1 }, nextIdentifier: { cases: 0 } });
  });

  it('refuses a malformed row naming its line, a missing file, and --cases beside --data', async () => {
    await writeFile(join(directory, 'bad.jsonl'), `${JSON.stringify({ prefix: 'a', expected: 'b', kind: 'next-line' })}\n${JSON.stringify({ prefix: 'a', expected: 'b', kind: 'next-token' })}\n`);
    const bad = await run(['eval', 'completion', '--cases', 'bad.jsonl', '--model', modelDirectory(), '--json']);
    expect(bad.code).toBe(1);
    const error = (JSON.parse(bad.stderr) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('CORRUPT_FILE');
    expect(error.message).toContain('line 2');
    expect(error.message).toContain('"kind"');

    const missing = await run(['eval', 'completion', '--cases', 'absent.jsonl', '--model', modelDirectory(), '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stderr)).toMatchObject({ error: { code: 'MISSING_FILE' } });

    const both = await run(['eval', 'completion', '--cases', 'bad.jsonl', '--data', 'bad.jsonl', '--model', modelDirectory(), '--json']);
    expect(both.code).toBe(2);
    expect(JSON.parse(both.stderr)).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
  });
});
