import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime, LlamaModel, saveModel } from '@codestack/runtime';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveTinyCompactModel } from './__fixtures__/tiny-compact-model.js';
import { bin, inheritedEnvironment, packageDirectory, runBin, startServe, stopServe } from './__fixtures__/run-bin.js';

const fixture = fileURLToPath(new URL('./__fixtures__/tiny-tasks.jsonl', import.meta.url));

/** Runs the built bin with a stdout pipe whose reader is gone before the bin writes (`| head -0`). */
function runBinWithClosedStdout(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: packageDirectory, stdio: ['ignore', 'pipe', 'pipe'], env: inheritedEnvironment() });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

let directory: string;

beforeAll(async () => {
  expect(existsSync(bin), 'build the package first (npm run build)').toBe(true);
  directory = await mkdtemp(join(tmpdir(), 'codestack-cli-'));
  await writeFile(join(directory, 'good.ts'), 'export function add(a: number, b: number): number {\n  return a + b;\n}\n');
  await writeFile(join(directory, 'typo.ts'), 'export function add(a: number, b: number): string {\n  return a + b;\n}\n');
  await writeFile(join(directory, 'wrong.ts'), 'export function add(a: number, b: number): number {\n  return a - b;\n}\n');
  await writeFile(join(directory, 'add.test.ts'), "import { strictEqual } from 'node:assert';\nstrictEqual(add(2, 3), 5);\n");
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('codestack bin', { timeout: 120000 }, () => {
  it('check: exit 0 only when the type check and the tests pass', async () => {
    const good = await runBin(['check', join(directory, 'good.ts'), '--tests', join(directory, 'add.test.ts'), '--json']);
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ ok: true, diagnostics: [], run: { status: 'passed' } });
    const typo = await runBin(['check', join(directory, 'typo.ts'), '--tests', join(directory, 'add.test.ts'), '--json']);
    expect(typo.code).toBe(1);
    expect(JSON.parse(typo.stdout)).toMatchObject({ ok: false, diagnostics: [{ code: 2322, line: 2 }], run: null });
    const wrong = await runBin(['check', join(directory, 'wrong.ts'), '--tests', join(directory, 'add.test.ts')]);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain('run: failed');
  });

  it('tokens count: from stdin and from a file', async () => {
    const piped = await runBin(['tokens', 'count', '--json'], 'hello world');
    expect(JSON.parse(piped.stdout)).toEqual({ tokens: 2, characters: 11, encoding: 'o200k_base' });
    const file = await runBin(['tokens', 'count', join(directory, 'good.ts'), '--encoding', 'o200k_base']);
    expect(Number(file.stdout.trim())).toBeGreaterThan(10);
  });

  it('help: every command and subcommand has its help with examples, on stdout, exit 0', async () => {
    for (const words of [['serve', '--help'], ['generate', '--help'], ['generate', '-h'], ['docs', 'index', '--help'], ['docs', 'search', '-h'], ['eval', 'completion', '--help'], ['help', 'check'], ['tokens', 'count', '--help'], ['--help']]) {
      const result = await runBin(words);
      expect({ words, code: result.code, stderr: result.stderr }).toEqual({ words, code: 0, stderr: '' });
      expect(result.stdout).toMatch(/^Usage: codestack/);
      expect(result.stdout).toContain('Examples:');
    }
    expect((await runBin(['docs', 'index', '--help'])).stdout).toContain('--out DIR');
    expect((await runBin(['tokens', 'count', '--help'])).stdout).toContain('o200k_base (default');
  });

  it('--version prints the package version', async () => {
    const result = await runBin(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('a misspelt option or command gets a "did you mean", exit 2', async () => {
    const option = await runBin(['complete', '--maximum-token', '3'], 'x');
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("did you mean '--maximum-tokens'?");
    expect(option.stderr).toContain("codestack complete --help");
    const command = await runBin(['genrate', 'write add']);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain("did you mean 'generate'?");
  });

  it('ends quietly when the reader of stdout has gone away', async () => {
    const generated = await runBinWithClosedStdout(['generate', 'write add(a, b)', '--json', '--maximum-tokens', '8', '--repair-rounds', '0']);
    expect(generated).toEqual({ code: 0, signal: null, stderr: '' });
    const indexDirectory = join(directory, 'pipe-index');
    expect((await runBin(['docs', 'index', '@codestack/core', '--out', indexDirectory, '--json'])).code).toBe(0);
    const searched = await runBinWithClosedStdout(['docs', 'search', 'write a file atomically', '--index', indexDirectory]);
    expect(searched).toEqual({ code: 0, signal: null, stderr: '' });
  });

  it('eval pass-at-k --canonical scores the fixture and reports progress as JSON lines', async () => {
    const result = await runBin(['eval', 'pass-at-k', '--data', fixture, '--canonical', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ 'pass@1': 0.75, scoredTasks: 4, skippedTasks: 1, failedTaskIds: ['Tiny/2'] });
    const lines = result.stderr.trim().split('\n').map((line) => JSON.parse(line) as { event: string });
    expect(lines.at(-1)).toMatchObject({ event: 'finish', completed: 5 });
  });

  it('eval progress without --json and without a TTY is a few plain lines, not JSON', async () => {
    const result = await runBin(['eval', 'pass-at-k', '--data', fixture, '--canonical']);
    expect(result.code).toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe('pass@k: started (5 to do)');
    expect(lines.at(-1)).toMatch(/^pass@k: done, 5\/5 in \d+\.\ds/);
    expect(result.stderr).not.toContain('{');
    expect(new Set(lines).size).toBe(lines.length);
  });

  it('fails with typed errors and usage exit codes', async () => {
    expect((await runBin(['bogus'])).code).toBe(2);
    const noTask = await runBin(['generate', '--json']);
    expect(noTask.code).toBe(2);
    expect(JSON.parse(noTask.stderr)).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
    const twoModels = await runBin(['complete', '--model', join(directory, 'model'), '--base-url', 'http://127.0.0.1:9/v1', '--json'], 'x');
    expect(twoModels.code).toBe(2);
    expect(JSON.parse(twoModels.stderr).error.message).toContain('not both');
    const missing = await runBin(['eval', 'pass-at-k', '--data', join(directory, 'none.jsonl'), '--canonical', '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stderr)).toMatchObject({ error: { code: 'MISSING_FILE' } });
    const noModel = await runBin(['complete', '--model', join(directory, 'nope'), '--json'], 'x');
    expect(noModel.code).toBe(1);
    expect(JSON.parse(noModel.stderr).error).toMatchObject({ code: 'MISSING_FILE', message: expect.stringContaining(`${join(directory, 'nope')}: expected a directory holding config.json and model.safetensors`) });
    const adapterRemote = await runBin(['complete', '--base-url', 'http://127.0.0.1:9/v1', '--adapter', 'x', '--json']);
    expect(JSON.parse(adapterRemote.stderr)).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
    // A temperature that is not a number, or below 0, is refused before any model loads (the URL is unreachable).
    for (const temperature of ['warm', '-1']) {
      const badTemperature = await runBin(['eval', 'pass-at-k', '--data', fixture, '--base-url', 'http://127.0.0.1:9/v1', '--temperature', temperature, '--json']);
      expect(badTemperature.code).toBe(2);
      expect(JSON.parse(badTemperature.stderr).error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('--temperature') });
    }
  });

  describe('serve a local checkpoint, then generate and complete against it', () => {
    let server: ChildProcessWithoutNullStreams;
    let url = '';

    beforeAll(async () => {
      const runtime = await createRuntime();
      const model = LlamaModel.create(
        runtime,
        { vocabularySize: 100256, hiddenSize: 32, layers: 2, attentionHeads: 4, keyValueHeads: 2, feedForwardSize: 64, maximumContext: 512, ropeTheta: 10000, normEpsilon: 1e-5, tiedEmbeddings: true },
        { seed: 3 },
      );
      await saveModel(model, join(directory, 'model'));
      const indexed = await runBin(['docs', 'index', '@codestack/core', '--out', join(directory, 'docs-index'), '--json']);
      expect(indexed.code).toBe(0);
      model.dispose();
      ({ server, url } = await startServe(['--model', join(directory, 'model'), '--model-name', 'tiny']));
    }, 60000);

    afterAll(() => stopServe(server));

    it('serves the official openai client', async () => {
      const client = new OpenAI({ apiKey: 'unused', baseURL: url, maxRetries: 0 });
      expect((await client.models.list()).data.map((entry) => entry.id)).toEqual(['tiny']);
      const completion = await client.completions.create({ model: 'tiny', prompt: 'const a = ', max_tokens: 3 });
      expect(completion.usage?.completion_tokens).toBe(3);
    });

    it('generate leaves out retrieved docs a task does not need, and says why', async () => {
      const result = await runBin(['generate', 'Write add(a, b).', '--base-url', url, '--model-name', 'tiny', '--context-tokens', '256', '--repair-rounds', '0', '--maximum-tokens', '8', '--docs', join(directory, 'docs-index'), '--json']);
      const [retrieval] = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type?: string; documents?: unknown[]; irrelevant?: { id: string; reason: string }[] });
      expect(retrieval).toMatchObject({ type: 'retrieval', documents: [] });
      expect(retrieval?.irrelevant?.length).toBeGreaterThan(0);
      expect(retrieval?.irrelevant?.[0]?.reason).toMatch(/relevance [\d.]+ < threshold 0\.9/);
    });

    it('generate retrieves from a docs index, streams typed events as JSON lines and records the attempts', async () => {
      const result = await runBin(['generate', 'Write add(a, b).', '--base-url', url, '--model-name', 'tiny', '--context-tokens', '256', '--repair-rounds', '1', '--maximum-tokens', '8', '--tests', join(directory, 'add.test.ts'), '--docs', join(directory, 'docs-index'), '--minimum-relevance', '0', '--json']);
      const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type?: string; event?: string; attempts?: number; ok?: boolean; documents?: { id: string }[] });
      expect(events[0]?.type).toBe('retrieval');
      expect(events[0]?.documents?.length).toBeGreaterThan(0);
      expect(events[0]?.documents?.every((document) => document.id.startsWith('@codestack/core'))).toBe(true);
      expect(events.filter((event) => event.type === 'prompt')).toHaveLength(2);
      expect(events.filter((event) => event.type === 'validation')).toHaveLength(2);
      expect(events.at(-1)).toMatchObject({ event: 'result', attempts: 2, ok: false });
      expect(result.code).toBe(1);
    });

    it('eval pass-at-k samples completions from the served model', async () => {
      const result = await runBin(['eval', 'pass-at-k', '--data', fixture, '--samples', '2', '--k', '1,2', '--base-url', url, '--model-name', 'tiny', '--maximum-tokens', '4', '--json']);
      expect(result.code).toBe(0);
      const report = JSON.parse(result.stdout) as Record<string, unknown>;
      expect(report).toMatchObject({ scoredTasks: 5, skippedTasks: 0 });
      // Four random tokens after an open function body cannot close it: every sample fails.
      expect(report).toMatchObject({ 'pass@1': 0, 'pass@2': 0 });
      expect(report.failedTaskIds).toEqual(['Tiny/0', 'Tiny/1', 'Tiny/2', 'Tiny_ts/3', 'Tiny_ts/4']);
    });

    it('complete continues a prefix from stdin', async () => {
      const result = await runBin(['complete', '--base-url', url, '--model-name', 'tiny', '--maximum-tokens', '4', '--json'], 'function add(a, b) {');
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ finishReason: 'length', usage: { outputTokens: 4 }, model: 'tiny' });
    });

    it('OPENAI_BASE_URL switches the same command to the remote model, and --model still wins', async () => {
      const environment = { OPENAI_BASE_URL: url, OPENAI_API_KEY: 'unused', OPENAI_MODEL: 'tiny' };
      const remote = await runBin(['complete', '--maximum-tokens', '3', '--json'], 'const a = ', { environment });
      expect(remote.stderr).toBe('');
      expect(JSON.parse(remote.stdout)).toMatchObject({ model: 'tiny', usage: { outputTokens: 3 } });
      const local = await runBin(['complete', '--model', join(directory, 'model'), '--maximum-tokens', '3', '--json'], 'const a = ', { environment });
      expect(JSON.parse(local.stdout)).toMatchObject({ model: 'codestack-local' });
      const unreachable = await runBin(['complete', '--maximum-tokens', '3', '--json'], 'const a = ', { environment: { ...environment, OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' } });
      expect(unreachable.code).toBe(1);
      expect(JSON.parse(unreachable.stderr).error.code).toMatch(/MODEL_CALL/);
    });

    it('complete --docs puts retrieved docs in front of the prefix', async () => {
      const result = await runBin(['complete', '--base-url', url, '--model-name', 'tiny', '--docs', join(directory, 'docs-index'), '--maximum-tokens', '3', '--json'], 'import { writeFileAtomic } from "@codestack/core";\nawait writeFileAtomic(');
      expect(result.code).toBe(0);
      const output = JSON.parse(result.stdout) as { documentTokens: number; usage: { inputTokens: number } };
      expect(output.documentTokens).toBeGreaterThan(0);
      expect(output.usage.inputTokens).toBeGreaterThan(output.documentTokens);
    });

    it('stops on SIGTERM with exit code 0', async () => {
      server.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => server.once('exit', (exitCode) => resolve(exitCode)));
      expect(code).toBe(0);
    });
  });
});

describe('codestack with no model options', { timeout: 120000 }, () => {
  it('runs the bundled base model, and its bundled adapter by name', async () => {
    const result = await runBin(['complete', '--maximum-tokens', '6', '--json'], 'export function add(a, b) {\n  return');
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({ model: 'codestack-base-1m', usage: { outputTokens: expect.any(Number) } });
    const adapted = await runBin(['complete', '--adapter', 'rxjs', '--maximum-tokens', '6', '--json'], "import { map } from 'rxjs';\n");
    expect(adapted.code).toBe(0);
    const unknown = await runBin(['complete', '--adapter', 'no-such-adapter', '--json'], 'x');
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stderr).error.message).toContain('no bundled adapter');
  });
});

describe('codestack defaults fit the bundled model (256 tokens of context)', { timeout: 120000 }, () => {
  it('eval pass-at-k runs with no --maximum-tokens, and a number that cannot fit names the option and the window', async () => {
    const evaluated = await runBin(['eval', 'pass-at-k', '--data', fixture, '--limit', '1', '--json']);
    expect(evaluated.code).toBe(0);
    expect(JSON.parse(evaluated.stdout)).toMatchObject({ scoredTasks: 1 });
    const tooMany = await runBin(['complete', '--maximum-tokens', '300', '--json'], 'x');
    expect(tooMany.code).toBe(2);
    expect(JSON.parse(tooMany.stderr).error.message).toContain("--maximum-tokens': must be in [1, 255] for the model's context window of 256 tokens, got 300");
  });
});

describe('codestack with a checkpoint that carries its compact vocabulary', () => {
  const modelDirectory = () => join(directory, 'compact-model');

  beforeAll(async () => {
    await saveTinyCompactModel(modelDirectory());
  });

  it('complete uses the vocabulary.json beside the weights', async () => {
    const result = await runBin(['complete', '--model', modelDirectory(), '--maximum-tokens', '4', '--json'], 'export function add(');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ finishReason: 'length', usage: { outputTokens: 4 } });
  });

  it('eval completion scores held-out files from a JSONL split, with progress as JSON lines', async () => {
    const split = join(directory, 'held-out.jsonl');
    const text = 'export function add(a: number, b: number): number {\n  return a + b;\n}\n';
    await writeFile(split, `${JSON.stringify({ path: 'add.ts', text: `${text}${text}${text}` })}\n`);
    const result = await runBin(['eval', 'completion', '--data', split, '--model', modelDirectory(), '--cases-per-file', '2', '--details', '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { files: number; nextLine: { cases: number; exact: number }; nextIdentifier: { cases: number }; results: { kind: string; exact: boolean }[] };
    expect(report.files).toBe(1);
    expect(report.nextLine.cases).toBe(2);
    expect(report.results).toHaveLength(report.nextLine.cases + report.nextIdentifier.cases);
    expect(report.nextLine.exact).toBe(report.results.filter((entry) => entry.kind === 'next-line' && entry.exact).length);
    const events = result.stderr.trim().split('\n').map((line) => JSON.parse(line) as { event: string });
    expect(events.at(-1)?.event).toBe('finish');
    const missing = await runBin(['eval', 'completion', '--data', join(directory, 'absent.jsonl'), '--model', modelDirectory(), '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stderr)).toMatchObject({ error: { code: 'MISSING_FILE' } });
  });

  it('refuses a tokenizer whose ids the model does not have', async () => {
    const result = await runBin(['complete', '--model', modelDirectory(), '--encoding', 'cl100k_base', '--json'], 'export function add(');
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stderr)).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
    expect(JSON.parse(result.stderr).error.message).toContain("outside the model's vocabulary");
  });
});
