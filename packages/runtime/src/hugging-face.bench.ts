/**
 * Bring-your-own-model benchmark: `npm run bench -w packages/runtime -- --hugging-face [--memory] [--speed]`
 * (or `npx tsx src/hugging-face.bench.ts`). Prints one JSON object per measurement.
 *
 * `--memory`: writes a random bf16 checkpoint of about 250 MB in the Qwen2 layout, loads it on
 * wasm in a fresh process and reports peak RSS against the file size.
 * `--speed`: writes a random bf16 checkpoint with Qwen2.5-0.5B's exact shape (hidden 896, 14/2
 * heads, FFN 4864, vocabulary 151 936) but `--layers` (default 12) of its 24 layers, since the
 * whole model does not fit the wasm heap; loads it on wasm, and measures
 * time to first token for a 1 000-token prompt and greedy decode tokens/s at batch 1 with the KV
 * cache; then the same with scripts/reference-forward.py (PyTorch, float32) when `/usr/bin/python3`
 * can import torch.
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime } from './backend/runtime.js';
import { loadModel } from './io/checkpoint.js';
import { fromHuggingFaceConfig, parameterCount, weightShapes } from './model/model-config.js';
import { estimateModelMemory } from './model/model-memory.js';

export const qwen25Config = {
  architectures: ['Qwen2ForCausalLM'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151643, hidden_act: 'silu', hidden_size: 896,
  initializer_range: 0.02, intermediate_size: 4864, max_position_embeddings: 32768, max_window_layers: 24, model_type: 'qwen2', num_attention_heads: 14,
  num_hidden_layers: 24, num_key_value_heads: 2, rms_norm_eps: 1e-6, rope_theta: 1000000.0, sliding_window: 32768, tie_word_embeddings: true,
  torch_dtype: 'bfloat16', transformers_version: '4.40.1', use_cache: true, use_sliding_window: false, vocab_size: 151936,
};

/** About 125M parameters, 250 MB in bf16, untied (so the largest tensors are the two 33M-value embeddings). */
const memoryConfig = { ...qwen25Config, hidden_size: 1024, intermediate_size: 2816, num_hidden_layers: 8, num_attention_heads: 16, num_key_value_heads: 4, vocab_size: 32000, tie_word_embeddings: false };

/** Writes a random bf16 `model.safetensors` (values of magnitude 1/64 to 1/32, norms 1) tensor by tensor. */
export async function writeRandomCheckpoint(directory: string, json: Record<string, unknown>): Promise<number> {
  const config = fromHuggingFaceConfig(json);
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, shape] of weightShapes(config)) {
    const bytes = shape.reduce((product, size) => product * size, 1) * 2;
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - ((8 + Buffer.byteLength(text)) % 8)) % 8);
  const file = await open(join(directory, 'model.safetensors'), 'w');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(text)));
  await file.write(length);
  await file.write(text);
  for (const [name, shape] of weightShapes(config)) {
    let remaining = shape.reduce((product, size) => product * size, 1);
    while (remaining > 0) {
      const count = Math.min(remaining, 1 << 22);
      const values = new Uint16Array(count);
      if (name.endsWith('norm.weight')) values.fill(0x3f80);
      else {
        randomFillSync(values);
        // keep the sign and 7 mantissa bits; exponent 121 gives magnitudes in [1/64, 1/32)
        for (let index = 0; index < count; index++) values[index] = ((values[index] as number) & 0x807f) | (121 << 7);
      }
      await file.write(new Uint8Array(values.buffer));
      remaining -= count;
    }
  }
  await file.close();
  await writeFile(join(directory, 'config.json'), JSON.stringify(json, null, 2));
  return (await stat(join(directory, 'model.safetensors'))).size;
}

const megabytes = (bytes: number): number => Math.round(bytes / 2 ** 20);

/** In a child process: load `directory` on wasm and report RSS. */
async function loadAndReport(directory: string): Promise<void> {
  const runtime = await createRuntime({ backend: 'wasm' });
  const before = process.memoryUsage().rss;
  const started = performance.now();
  const model = await loadModel(runtime, directory);
  const seconds = (performance.now() - started) / 1000;
  const after = process.memoryUsage().rss;
  console.log(JSON.stringify({ rssBeforeLoadBytes: before, rssAfterLoadBytes: after, peakRssBytes: process.resourceUsage().maxRSS * 1024, tensorBytes: runtime.tf.memory().numBytes, loadSeconds: seconds }));
  model.dispose();
}

async function measureMemory(): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'codestack-memory-'));
  try {
    const fileBytes = await writeRandomCheckpoint(directory, memoryConfig);
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--load-child', directory], { encoding: 'utf8', maxBuffer: 16 << 20 });
    if (child.status !== 0) throw new Error(`the loading process failed: ${child.stderr}`);
    const report = JSON.parse(child.stdout.trim().split('\n').pop() as string) as { rssBeforeLoadBytes: number; peakRssBytes: number; tensorBytes: number; loadSeconds: number; rssAfterLoadBytes: number };
    console.log(
      JSON.stringify({
        measurement: 'load memory (wasm, bf16 file, float32 in memory)',
        parameters: parameterCount(fromHuggingFaceConfig(memoryConfig)),
        fileMegabytes: megabytes(fileBytes),
        tensorMegabytes: megabytes(report.tensorBytes),
        rssBeforeLoadMegabytes: megabytes(report.rssBeforeLoadBytes),
        rssAfterLoadMegabytes: megabytes(report.rssAfterLoadBytes),
        peakRssMegabytes: megabytes(report.peakRssBytes),
        peakGrowthOverFile: Number(((report.peakRssBytes - report.rssBeforeLoadBytes) / fileBytes).toFixed(2)),
        peakGrowthOverTensors: Number(((report.peakRssBytes - report.rssBeforeLoadBytes) / report.tensorBytes).toFixed(2)),
        loadSeconds: Number(report.loadSeconds.toFixed(1)),
      }),
    );
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

async function measureSpeed(promptTokens: number, decodeTokens: number, layers: number): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'codestack-speed-'));
  try {
    const json = { ...qwen25Config, num_hidden_layers: layers };
    const fileBytes = await writeRandomCheckpoint(directory, json);
    const config = fromHuggingFaceConfig(json);
    const runtime = await createRuntime({ backend: 'wasm' });
    const { tf } = runtime;
    let started = performance.now();
    const model = await loadModel(runtime, directory);
    const loadSeconds = (performance.now() - started) / 1000;
    const prompt = Array.from({ length: promptTokens }, (_, index) => index % config.vocabularySize);
    const cache = model.createCache();
    const pick = (ids: number[]): number => {
      const best = tf.tidy(() => tf.argMax(model.logits([ids], cache, { lastPositionOnly: true }), -1));
      const token = best.dataSync()[0] as number;
      best.dispose();
      return token;
    };
    started = performance.now();
    let token = pick(prompt);
    const timeToFirstTokenSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    for (let step = 0; step < decodeTokens; step++) token = pick([token]);
    const decodeTokensPerSecond = decodeTokens / ((performance.now() - started) / 1000);
    cache.dispose();
    model.dispose();
    let torch: unknown = 'skipped: /usr/bin/python3 cannot import torch';
    if (spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) {
      const script = fileURLToPath(new URL('../scripts/reference-forward.py', import.meta.url));
      const run = spawnSync('/usr/bin/python3', [script], { input: JSON.stringify([{ directory, bench: { promptTokens, decodeTokens } }]), encoding: 'utf8', maxBuffer: 16 << 20 });
      torch = run.status === 0 ? (JSON.parse(run.stdout) as unknown[])[0] : `failed: ${run.stderr.slice(-500)}`;
    }
    console.log(
      JSON.stringify({
        measurement: `Qwen2.5-0.5B shape with ${layers} of its 24 layers, random bf16 weights, batch 1, greedy with the KV cache`,
        fullModelWasmMegabytes: megabytes(estimateModelMemory(fromHuggingFaceConfig(qwen25Config)).totalBytes),
        parameters: parameterCount(config),
        fileMegabytes: megabytes(fileBytes),
        estimatedWasmMegabytes: megabytes(estimateModelMemory(config).totalBytes),
        wasm: { loadSeconds: Number(loadSeconds.toFixed(1)), promptTokens, timeToFirstTokenSeconds: Number(timeToFirstTokenSeconds.toFixed(2)), decodeTokens, decodeTokensPerSecond: Number(decodeTokensPerSecond.toFixed(2)) },
        torch,
        cpus: cpus().length,
        loadAverage: loadavg().map((value) => Number(value.toFixed(2))),
      }),
    );
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** Runs the measurements the flags ask for (both when neither is given). */
export async function runHuggingFaceBench(argv: readonly string[]): Promise<void> {
  const childIndex = argv.indexOf('--load-child');
  if (childIndex >= 0) return loadAndReport(argv[childIndex + 1] as string);
  const all = !argv.includes('--memory') && !argv.includes('--speed');
  if (all || argv.includes('--memory')) await measureMemory();
  const promptIndex = argv.indexOf('--prompt-tokens');
  const decodeIndex = argv.indexOf('--decode-tokens');
  const layersIndex = argv.indexOf('--layers');
  // The full 24 layers need about 4.6 GB on wasm (XNNPACK's packed weight copies), over its 4 GiB heap.
  const layers = layersIndex >= 0 ? Number(argv[layersIndex + 1]) : 12;
  if (all || argv.includes('--speed')) await measureSpeed(promptIndex >= 0 ? Number(argv[promptIndex + 1]) : 1000, decodeIndex >= 0 ? Number(argv[decodeIndex + 1]) : 16, layers);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runHuggingFaceBench(process.argv.slice(2));
