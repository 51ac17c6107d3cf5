import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageDirectory } from './__fixtures__/fixture-project.js';
import { runDocsCommand, type DocsCommandResult } from './docs-command.js';

const run = promisify(execFile);
// The bin as published: the built file, run by plain Node in its own process.
const bin = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const readme = join(packageDirectory, '../../node_modules/hnswlib-node/README.md');
let directory: string;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd: packageDirectory });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'codestack-cli-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('codestack-docs (built bin in a child process)', () => {
  it('is built with a shebang', async () => {
    expect(existsSync(bin)).toBe(true);
    expect((await readFile(bin, 'utf8')).split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('indexes a package and a Markdown file with JSON progress, then searches with JSON output', { timeout: 60_000 }, async () => {
    const out = join(directory, 'index');
    const indexed = await cli(['index', 'hnswlib-node', readme, '--out', out, '--json']);
    expect(indexed.code).toBe(0);
    const summary = JSON.parse(indexed.stdout) as { entries: number; pieces: number };
    expect(summary.entries).toBeGreaterThan(40);
    const events = indexed.stderr.trim().split('\n').map((line) => JSON.parse(line) as { event: string; label: string });
    expect(events.at(-1)).toMatchObject({ event: 'finish', label: 'index' });
    expect(events.some((event) => event.event === 'progress')).toBe(true);

    const searched = await cli(['search', 'search the k nearest neighbors of a query point', '--index', out, '-k', '3', '--json']);
    expect(searched.code).toBe(0);
    const rows = JSON.parse(searched.stdout) as DocsCommandResult[];
    expect(rows).toHaveLength(3);
    expect(Object.keys(rows[0] ?? {}).sort()).toEqual(['id', 'kind', 'name', 'package', 'score', 'signature', 'summary']);
    expect(rows.map((row) => row.name)).toContain('hnswlib-node.HierarchicalNSW.searchKnn');

    const markdownOnly = await cli(['search', 'installation', '--index', out, '--package', 'README.md', '--json']);
    const markdownRows = JSON.parse(markdownOnly.stdout) as DocsCommandResult[];
    expect(markdownRows.length).toBeGreaterThan(0);
    expect(markdownRows.every((row) => row.kind === 'markdown' && row.package === 'README.md')).toBe(true);

    const text = await cli(['search', 'resize the index', '--index', out, '-k', '1']);
    expect(text.stdout).toContain('resizeIndex');
  });

  it('prints help on stdout and exits 0 for --help and -h, on every subcommand', async () => {
    for (const args of [['--help'], ['-h'], ['index', '--help'], ['search', '-h']]) {
      const result = await cli(args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout).toContain('Usage');
      expect(result.stderr).toBe('');
    }
  });

  it('ends quietly with exit code 0 when the reader of its output goes away (| head -0)', { timeout: 60_000 }, async () => {
    const { spawn } = await import('node:child_process');
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, 'search', 'read a file', '--index', join(directory, 'index'), '-k', '50'], { cwd: packageDirectory, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('exits 1 with the error code for a bad package and 2 for bad usage', { timeout: 60_000 }, async () => {
    const missing = await cli(['index', 'no-such-package-xyz', '--out', join(directory, 'bad')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('PACKAGE_NOT_FOUND');
    const usage = await cli(['search', 'query without index']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('Usage');
    const corrupt = await cli(['search', 'x', '--index', join(directory, 'nowhere'), '--json']);
    expect(corrupt.code).toBe(1);
    expect(JSON.parse(corrupt.stderr)).toMatchObject({ error: { code: 'MISSING_FILE' } });
  });
});

describe('runDocsCommand (in process, as the orchestrator calls it)', () => {
  it('writes to the given streams and returns the exit code', async () => {
    let stdout = '';
    let stderr = '';
    const code = await runDocsCommand(['bogus'], {
      stdout: { write: (chunk: string) => ((stdout += chunk), true) } as NodeJS.WritableStream,
      stderr: { write: (chunk: string) => ((stderr += chunk), true) } as NodeJS.WritableStream,
    });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('codestack-docs index');
  });
});
