import { resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { baseModelId, bundledAdapterDirectory } from '@codestack/model-base';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { commandHelp } from './help.js';
import { parseLoraModules, serveCommand } from './serve-command.js';

describe('codestack serve --lora-modules', () => {
  it('parses name=path, the JSON form and bundled names, and refuses the rest', async () => {
    expect(await parseLoraModules(['rx=adapters/rx', '{"name": "js", "path": "/abs/js"}'], '/work', false)).toEqual([
      { name: 'rx', path: '/work/adapters/rx' },
      { name: 'js', path: '/abs/js' },
    ]);
    expect(await parseLoraModules(['rxjs'], '/work', true)).toEqual([{ name: 'rxjs', path: resolve(bundledAdapterDirectory('rxjs')) }]);
    await expect(parseLoraModules(['rxjs'], '/work', false)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(parseLoraModules(['=dir'], '/work', false)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(parseLoraModules(['a=x', 'a=y'], '/work', false)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(parseLoraModules(['{"name":'], '/work', false)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('serves the bundled model and each adapter as its own model id, picked per request', async () => {
    const stdout = new PassThrough();
    const controller = new AbortController();
    const lines: string[] = [];
    const listening = new Promise<{ url: string; adapters: string[] }>((resolve) => {
      stdout.on('data', (chunk: Buffer) => {
        lines.push(String(chunk));
        resolve(JSON.parse(lines.join('').split('\n')[0]!) as { url: string; adapters: string[] });
      });
    });
    const exit = serveCommand(['--port', '0', '--json', '--lora-modules', 'rxjs', '--lora-modules', `rx-copy=${bundledAdapterDirectory('rxjs')}`], {
      stdout,
      stderr: new PassThrough(),
      signal: controller.signal,
    });
    try {
      const { url, adapters } = await Promise.race([listening, exit.then(() => ({ url: '', adapters: [] }))]);
      expect(adapters).toEqual(['rxjs', 'rx-copy']);
      const client = new OpenAI({ apiKey: 'unused', baseURL: url, maxRetries: 0 });
      const models = (await client.models.list()).data as unknown as { id: string; parent: string | null }[];
      expect(models.map(({ id, parent }) => ({ id, parent }))).toEqual([
        { id: baseModelId, parent: null },
        { id: 'rxjs', parent: baseModelId },
        { id: 'rx-copy', parent: baseModelId },
      ]);
      const answer = async (model: string): Promise<string> =>
        (await client.completions.create({ model, prompt: 'import { map } from ', max_tokens: 12, temperature: 0 })).choices[0]!.text;
      const [rxjs, copy, base] = await Promise.all([answer('rxjs'), answer('rx-copy'), answer(baseModelId)]);
      expect(copy).toBe(rxjs);
      expect(rxjs).not.toBe(base);
      expect(base).toBe(await answer(baseModelId));
      expect(rxjs).toBe(await answer('rxjs'));
      await expect(client.completions.create({ model: 'vitest', prompt: 'x', max_tokens: 2 })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    } finally {
      controller.abort();
    }
    expect(await exit).toBe(0);
  });

  it('is in the help of serve, with an example', () => {
    expect(commandHelp.serve).toContain('--lora-modules NAME=DIR');
    expect(commandHelp.serve).toContain('codestack serve --lora-modules rxjs');
  });

  it('refuses --lora-modules with --adapter or an endpoint', async () => {
    const context = { stdout: new PassThrough(), stderr: new PassThrough() };
    await expect(serveCommand(['--lora-modules', 'rxjs', '--adapter', 'rxjs'], context)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(serveCommand(['--lora-modules', 'rxjs', '--base-url', 'http://127.0.0.1:9/v1'], context)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('refuses --datastore with a merged --adapter, saying a datastore is the base model’s only, and says so in the help', async () => {
    const context = { stdout: new PassThrough(), stderr: new PassThrough() };
    // Refused before any model or datastore is read: were the check later, 'no-such-model' would fail
    // first with a missing file (and a real datastore with MISMATCHED_FILE, as the merged adapter
    // changed the weights).
    const refusal = serveCommand(['--port', '0', '--model', 'no-such-model', '--adapter', 'rxjs', '--datastore', 'no-such-store'], context);
    await expect(refusal).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', argument: '--datastore' });
    await expect(refusal).rejects.toThrow(/base model only/);
    expect(commandHelp.serve).toContain('adapter requests run without it');
  });
});
