import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, inheritedEnvironment, runBin, startServe, stopServe } from './__fixtures__/run-bin.js';
import { saveTinyCompactModel } from './__fixtures__/tiny-compact-model.js';
import { commandHelp } from './help.js';

// The code the datastore memorises: within the tiny model's compact vocabulary.
const memorised = 'export function add(a: number, b: number): number { return a + b; }\n';
const promptText = 'export function add(a: number, b: number): number {';
// λ high and a sharp temperature, so a stored continuation wins over the random model's guess.
const strongMixing = ['--knn-lambda', '0.9', '--knn-temperature', '1'];

let directory: string;
const path = (...parts: string[]): string => join(directory, ...parts);

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'codestack-datastore-cli-'));
  await saveTinyCompactModel(path('model'));
  await saveTinyCompactModel(path('other-model'), 6);
  await mkdir(path('project', 'src'), { recursive: true });
  await mkdir(path('project', 'node_modules', 'ignored'), { recursive: true });
  await writeFile(path('project', 'src', 'add.ts'), memorised);
  await writeFile(path('project', 'node_modules', 'ignored', 'index.js'), 'export function add(b: number, a: number) { return b; }\n');
  const many = path('many');
  await mkdir(many, { recursive: true });
  // Enough files, read in windows of 8 tokens, that an interrupt lands mid-build.
  await Promise.all(Array.from({ length: 120 }, (_, index) => writeFile(join(many, `file-${String(index).padStart(4, '0')}.ts`), memorised.repeat(1 + (index % 5)))));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('codestack datastore build', () => {
  it('builds from a project directory (--from .), reports tokens, bytes per token and time, and is used by complete --datastore', async () => {
    const built = await runBin(['datastore', 'build', '--model', path('model'), '--from', '.', '--out', path('store'), '--json'], '', { cwd: path('project') });
    expect(built.code, built.stderr).toBe(0);
    const summary = JSON.parse(built.stdout) as { tokens: number; files: number; bytesPerToken: number; graphBytesPerToken: number; seconds: number; resumedFiles: number };
    expect(summary).toMatchObject({ files: 1, bytesPerToken: 32 * 2 + 4, resumedFiles: 0 });
    expect(summary.tokens).toBeGreaterThan(10);
    expect(summary.graphBytesPerToken).toBeGreaterThan(0);
    expect(summary.seconds).toBeGreaterThan(0);
    // Progress went to stderr as JSON lines.
    expect(built.stderr.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { label?: string }).label)).toContain('datastore');
    expect(existsSync(path('store', 'datastore.json'))).toBe(true);

    const plain = await runBin(['complete', '--model', path('model'), '--maximum-tokens', '8', '--no-cache', '--json'], promptText);
    const mixed = await runBin(['complete', '--model', path('model'), '--maximum-tokens', '8', '--no-cache', '--datastore', path('store'), ...strongMixing, '--json'], promptText);
    expect(JSON.parse(plain.stdout)).toMatchObject({ cache: false });
    // complete on a local model has the continuous cache on unless told otherwise.
    expect(JSON.parse((await runBin(['complete', '--model', path('model'), '--maximum-tokens', '4', '--json'], promptText)).stdout)).toMatchObject({ cache: true });
    expect(mixed.code, mixed.stderr).toBe(0);
    const completion = (JSON.parse(mixed.stdout) as { completion: string }).completion;
    expect(memorised.slice(promptText.length).startsWith(completion.slice(0, 8))).toBe(true);
    expect(completion.trim().length).toBeGreaterThan(0);
    expect((JSON.parse(plain.stdout) as { completion: string }).completion).not.toBe(completion);

    // generate, and eval completion take it too; the cache reads each case's own prefix.
    // generate --datastore: the neighbours change what the model writes (the same call without it writes something else).
    const generateWith = async (datastore: string[]): Promise<string> => {
      const run = await runBin(['generate', 'write add', '--model', path('model'), '--maximum-tokens', '8', '--repair-rounds', '0', ...datastore, '--json']);
      expect(run.stderr).not.toContain('"error"');
      const events = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as { event?: string; type?: string; delta?: string });
      expect(events.map((event) => event.event)).toContain('result');
      return events.filter((event) => event.type === 'text-delta').map((event) => event.delta).join('');
    };
    const generatedPlain = await generateWith([]);
    const generatedMixed = await generateWith(['--datastore', path('store'), ...strongMixing]);
    expect(generatedMixed.length).toBeGreaterThan(0);
    expect(generatedMixed).not.toBe(generatedPlain);
    await writeFile(path('cases.jsonl'), `${JSON.stringify({ prefix: promptText, expected: ' return a + b; }', kind: 'next-line' })}\n`);
    const evaluated = await runBin(['eval', 'completion', '--cases', path('cases.jsonl'), '--model', path('model'), '--datastore', path('store'), '--cache', ...strongMixing, '--json']);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(JSON.parse(evaluated.stdout)).toMatchObject({ datastore: path('store'), cache: true, nextLine: { cases: 1 } });
  });

  it('refuses a datastore built for other weights with MISMATCHED_FILE, and kNN options on an endpoint', async () => {
    const refused = await runBin(['complete', '--model', path('other-model'), '--datastore', path('store'), '--json'], promptText);
    expect(refused.code).toBe(1);
    const error = (JSON.parse(refused.stderr.trim().split('\n').at(-1)!) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('MISMATCHED_FILE');
    expect(error.message).toContain('other weights');
    const endpoint = await runBin(['complete', '--base-url', 'http://127.0.0.1:9/v1', '--cache', '--json'], promptText);
    expect(endpoint.code).toBe(2);
    expect(JSON.parse(endpoint.stderr)).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
    // A --knn-* value that is not a number is refused by name, before any model loads.
    const notANumber = await runBin(['complete', '--model', path('no-model-here'), '--cache', '--knn-neighbours', 'many', '--json'], promptText);
    expect(notANumber.code).toBe(2);
    expect(JSON.parse(notANumber.stderr)).toMatchObject({ error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining("--knn-neighbours': must be a number, got 'many'") } });
    const missing = await runBin(['datastore', 'build', '--model', path('model'), '--from', 'no-such-package-here', '--out', path('never'), '--json'], '', { cwd: path('project') });
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stderr)).toMatchObject({ error: { code: 'MISSING_FILE' } });
  });

  it('continues an interrupted build (SIGINT) from its checkpoint, to the same datastore as an uninterrupted one', async () => {
    const out = path('many-store');
    const child = spawn(process.execPath, [bin, 'datastore', 'build', '--model', path('model'), '--from', path('many'), '--out', out, '--window-tokens', '8', '--json'], { env: inheritedEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
    const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
    let stderr = '';
    let interrupted = false;
    for await (const line of createInterface({ input: child.stderr })) {
      stderr += `${line}\n`;
      const event = JSON.parse(line) as { event?: string; completed?: number };
      if (!interrupted && event.event === 'progress' && (event.completed ?? 0) >= 5) {
        interrupted = true;
        child.kill('SIGINT');
      }
    }
    const code = await exit;
    expect(code, stderr).not.toBe(0);
    expect(stderr).toContain('ABORTED');
    // The abort wrote a checkpoint, and says where.
    const events = stderr.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { event?: string; checkpoint?: string });
    expect(events.find((event) => event.event === 'interrupted')?.checkpoint).toBe(`${out}.partial`);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(true);

    const resumed = await runBin(['datastore', 'build', '--model', path('model'), '--from', path('many'), '--out', out, '--window-tokens', '8', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = JSON.parse(resumed.stdout) as { tokens: number; resumedFiles: number };
    expect(summary.resumedFiles).toBeGreaterThanOrEqual(5);
    expect(summary.resumedFiles).toBeLessThan(120);
    expect(existsSync(`${out}.partial`)).toBe(false);
    const fresh = await runBin(['datastore', 'build', '--model', path('model'), '--from', path('many'), '--out', path('many-fresh'), '--window-tokens', '8', '--json']);
    expect((JSON.parse(fresh.stdout) as { tokens: number }).tokens).toBe(summary.tokens);
  });

  it('reports no interrupted build or checkpoint for a failure that is no abort, and leaves a foreign <out>.partial alone', async () => {
    const out = path('foreign-store');
    await mkdir(`${out}.partial`, { recursive: true });
    await writeFile(join(`${out}.partial`, 'notes.txt'), 'mine\n');
    const refused = await runBin(['datastore', 'build', '--model', path('model'), '--from', path('project', 'src'), '--out', out, '--json']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('is not a datastore build checkpoint');
    expect(refused.stderr).not.toContain('interrupted');
    expect(refused.stderr).not.toContain('"checkpoint"');
    expect(existsSync(join(`${out}.partial`, 'notes.txt'))).toBe(true);
  });

  it('serve --datastore mixes the neighbours into every request to the local model', async () => {
    const client = async (args: string[]): Promise<string> => {
      const { server, url } = await startServe(['--model', path('model'), ...args]);
      try {
        const openai = new OpenAI({ apiKey: 'unused', baseURL: url, maxRetries: 0 });
        const models = await openai.models.list();
        return (await openai.completions.create({ model: models.data[0]!.id, prompt: promptText, max_tokens: 8, temperature: 0 })).choices[0]!.text;
      } finally {
        await stopServe(server);
      }
    };
    const served = await client(['--datastore', path('store'), ...strongMixing]);
    expect(memorised.slice(promptText.length).startsWith(served.slice(0, 8))).toBe(true);
    expect(served.trim().length).toBeGreaterThan(0);
    expect(await client([])).not.toBe(served);
  });

  it('has its help with examples, and the datastore options in the help of complete, generate, eval completion and serve', () => {
    expect(commandHelp['datastore build']).toContain('codestack datastore build --from . --out');
    for (const topic of ['complete', 'generate', 'eval completion', 'serve']) expect(commandHelp[topic]).toContain('--datastore DIR');
    for (const topic of ['complete', 'eval completion']) expect(commandHelp[topic]).toContain('--cache, --no-cache');
  });
});
