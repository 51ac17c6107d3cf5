import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodestackError, FileFormatError } from '@codestack/core';
import { createRuntime, type Runtime } from '../backend/runtime.js';
import { LlamaModel } from '../model/llama-model.js';
import { loadModel, saveModel } from './checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import { tinyConfig } from '../__fixtures__/test-configs.js';

// Every damaged checkpoint must be refused with a typed error or load exactly the saved model.

let runtime: Runtime;
let directory: string;
let original: { config: Uint8Array; weights: Uint8Array; manifest: Uint8Array };
let reference: Map<string, Float32Array>;
let tensorsBefore: number;

beforeAll(async () => {
  runtime = await createRuntime({ backend: 'wasm' });
  directory = await mkdtemp(join(tmpdir(), 'checkpoint-fuzz-'));
  const model = LlamaModel.create(runtime, tinyConfig, { seed: 5, initializerRange: 0.1 });
  await saveModel(model, directory);
  model.dispose();
  original = {
    config: await readFile(join(directory, 'config.json')),
    weights: await readFile(join(directory, 'model.safetensors')),
    manifest: await readFile(join(directory, 'codestack-manifest.json')),
  };
  reference = new Map([...decodeSafetensors(original.weights).tensors].map(([name, tensor]) => [name, tensor.data]));
  tensorsBefore = runtime.tf.memory().numTensors;
});

afterAll(async () => {
  expect(runtime.tf.memory().numTensors).toBe(tensorsBefore);
  await rm(directory, { recursive: true, force: true });
});

type Outcome = 'refused' | 'identical' | 'different';

async function writeState(files: { config?: Uint8Array | string; weights?: Uint8Array; manifest?: Uint8Array | null }): Promise<void> {
  await writeFile(join(directory, 'config.json'), files.config ?? original.config);
  await writeFile(join(directory, 'model.safetensors'), files.weights ?? original.weights);
  if (files.manifest === null) await rm(join(directory, 'codestack-manifest.json'), { force: true });
  else await writeFile(join(directory, 'codestack-manifest.json'), files.manifest ?? original.manifest);
}

/** Loads the directory; an untyped error fails the test. */
async function outcome(): Promise<Outcome> {
  let model: LlamaModel;
  try {
    model = await loadModel(runtime, directory);
  } catch (error) {
    expect(CodestackError.isInstance(error), String(error)).toBe(true);
    expect(FileFormatError.isInstance(error), String(error)).toBe(true);
    return 'refused';
  }
  const weights = model.exportWeights();
  const same =
    JSON.stringify(model.config) === JSON.stringify(tinyConfig) &&
    weights.size === reference.size &&
    [...weights].every(([name, weight]) => {
      const expected = reference.get(name);
      return expected !== undefined && expected.length === weight.data.length && expected.every((value, index) => Object.is(value, weight.data[index]));
    });
  model.dispose();
  return same ? 'identical' : 'different';
}

function flipped(bytes: Uint8Array, position: number, bit: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[position] = copy[position]! ^ (1 << bit);
  return copy;
}

function headerEnd(weights: Uint8Array): number {
  return 8 + Number(new DataView(weights.buffer, weights.byteOffset).getBigUint64(0, true));
}

const flip = (length: number): fc.Arbitrary<[number, number]> => fc.tuple(fc.nat({ max: length - 1 }), fc.nat({ max: 7 }));

describe('bit flips in a saved checkpoint (with its manifest)', () => {
  it('config.json: every flip is refused (manifest SHA-256)', async () => {
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(flip(original.config.length), async ([position, bit]) => {
        await writeState({ config: flipped(original.config, position, bit) });
        expect(await outcome()).toBe('refused');
        refused++;
      }),
      { numRuns: 300, seed: 11 },
    );
    expect(refused).toBe(300);
  });

  it('model.safetensors (header and data): every flip is refused', async () => {
    const end = headerEnd(original.weights);
    // Half the flips in the header, half anywhere.
    const position = fc.oneof(fc.nat({ max: end - 1 }), fc.nat({ max: original.weights.length - 1 }));
    await fc.assert(
      fc.asyncProperty(position, fc.nat({ max: 7 }), async (at, bit) => {
        await writeState({ weights: flipped(original.weights, at, bit) });
        expect(await outcome()).toBe('refused');
      }),
      { numRuns: 300, seed: 12 },
    );
  });

  it('codestack-manifest.json: every flip is refused or changes nothing', async () => {
    const seen: Record<Outcome, number> = { refused: 0, identical: 0, different: 0 };
    await fc.assert(
      fc.asyncProperty(flip(original.manifest.length), async ([position, bit]) => {
        await writeState({ manifest: flipped(original.manifest, position, bit) });
        const result = await outcome();
        seen[result]++;
        expect(result).not.toBe('different');
      }),
      { numRuns: 300, seed: 13 },
    );
    expect(seen.refused).toBeGreaterThan(250);
  });
});

describe('bit flips in a Hugging Face directory (no manifest, no recorded checksum)', () => {
  const plainConfig = (): string => {
    const { codestack_weights_sha256: _removed, ...rest } = JSON.parse(new TextDecoder().decode(original.config)) as Record<string, unknown>;
    return JSON.stringify(rest, null, 2);
  };

  it('config.json: every flip is refused with a typed error or loads a model within the bounds, quickly', async () => {
    const config = new TextEncoder().encode(plainConfig());
    const seen: Record<Outcome, number> = { refused: 0, identical: 0, different: 0 };
    await fc.assert(
      fc.asyncProperty(flip(config.length), async ([position, bit]) => {
        await writeState({ config: flipped(config, position, bit), manifest: null });
        const started = performance.now();
        seen[await outcome()]++;
        expect(performance.now() - started).toBeLessThan(2_000);
      }),
      { numRuns: 300, seed: 21 },
    );
    // Without a checksum a flip such as rms_norm_eps 1e-5 -> 3e-5 is undetectable; that is why saves write a manifest.
    expect(seen.refused).toBeGreaterThan(150);
  });

  it('safetensors header: every flip is refused or loads identically', async () => {
    const end = headerEnd(original.weights);
    await fc.assert(
      fc.asyncProperty(flip(end), async ([position, bit]) => {
        await writeState({ config: plainConfig(), weights: flipped(original.weights, position, bit), manifest: null });
        expect(await outcome()).not.toBe('different');
      }),
      { numRuns: 300, seed: 22 },
    );
  });

  it('truncation at every boundary (header length, header, each tensor) is refused', async () => {
    const end = headerEnd(original.weights);
    const { tensors } = decodeSafetensors(original.weights);
    const cuts = new Set<number>([0, 1, 4, 7, 8, 9, end - 1, end, original.weights.length - 1]);
    for (let cut = 8; cut < end; cut += 97) cuts.add(cut);
    let offset = end;
    for (const tensor of tensors.values()) {
      const size = tensor.data.length * 4;
      cuts.add(offset + 1).add(offset + Math.floor(size / 2)).add(offset + size - 1);
      offset += size;
      cuts.add(offset);
    }
    cuts.delete(original.weights.length);
    for (const cut of cuts) {
      for (const manifest of [undefined, null] as const) {
        await writeState({ config: manifest === null ? plainConfig() : undefined, weights: original.weights.subarray(0, cut), manifest });
        expect(await outcome()).toBe('refused');
      }
    }
    expect(cuts.size).toBeGreaterThan(40);
  });

  it('oversized or impossible header lengths are refused before allocating', async () => {
    for (const length of [2n ** 40n, 2n ** 63n, 2n ** 64n - 1n, BigInt(original.weights.length), 16n * 1024n * 1024n + 1n]) {
      const weights = new Uint8Array(original.weights);
      new DataView(weights.buffer).setBigUint64(0, length, true);
      await writeState({ config: plainConfig(), weights, manifest: null });
      expect(await outcome()).toBe('refused');
    }
  });
});

describe('hostile configurations and weights (no manifest)', () => {
  const base = (): Record<string, unknown> => {
    const { codestack_weights_sha256: _removed, ...rest } = JSON.parse(new TextDecoder().decode(original.config)) as Record<string, unknown>;
    return rest;
  };

  it('refuses out-of-bounds fields quickly, before allocating, with CORRUPT_FILE', async () => {
    const cases: Record<string, unknown>[] = [
      { num_hidden_layers: 1e9 },
      { num_hidden_layers: 257 },
      { max_position_embeddings: 2e8 },
      { vocab_size: 2 ** 21 },
      { hidden_size: 2 ** 17 },
      { intermediate_size: 1e12 },
      { rms_norm_eps: 1.00001 },
      { rms_norm_eps: 0 },
      { rms_norm_eps: -1e-5 },
      { rope_theta: 0 },
      { rope_theta: -10000 },
      { rope_theta: 'NaN' },
      { num_attention_heads: 3 },
      { num_key_value_heads: 3 },
      // head_dim and rope_scaling (llama3, linear) are supported now; these forms are not.
      { head_dim: 15 },
      { head_dim: 1e9 },
      { hidden_act: 'gelu' },
      { rope_scaling: { type: 'yarn', factor: 4 } },
      { rope_scaling: { rope_type: 'llama3', factor: 8 } },
      { model_type: 'gemma' },
      { model_type: 'qwen2', use_sliding_window: true },
      { model_type: 'mistral', sliding_window: 4 },
      { attention_bias: 'yes' },
      { vocab_size: '48' },
      { tie_word_embeddings: 'yes' },
    ];
    for (const change of cases) {
      await writeState({ config: JSON.stringify({ ...base(), ...change }), manifest: null });
      const started = performance.now();
      const error = await loadModel(runtime, directory).catch((caught: unknown) => caught);
      expect(performance.now() - started, JSON.stringify(change)).toBeLessThan(500);
      expect(FileFormatError.isInstance(error), JSON.stringify(change)).toBe(true);
      expect((error as FileFormatError).code).toBe('CORRUPT_FILE');
    }
    // A literal 1e400 parses as Infinity; a config.json over 1 MiB is not even read.
    await writeState({ config: JSON.stringify(base()).replace('"rope_theta":10000', '"rope_theta":1e400'), manifest: null });
    expect(await outcome()).toBe('refused');
    await writeState({ config: `${JSON.stringify(base())}${' '.repeat(1 << 20)}`, manifest: null });
    expect(await outcome()).toBe('refused');
  });

  it('refuses a weights file too small or too large for the parameters, before reading it', async () => {
    await writeState({ config: JSON.stringify({ ...base(), num_hidden_layers: 200 }), manifest: null });
    const error = await loadModel(runtime, directory).catch((caught: unknown) => caught);
    expect((error as FileFormatError).code).toBe('MISMATCHED_FILE');
    expect(String(error)).toMatch(/cannot hold/);
  });

  it('refuses NaN and infinite weights', async () => {
    const { tensors } = decodeSafetensors(original.weights);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const damaged = new Map(tensors);
      const norm = tensors.get('model.norm.weight')!;
      const data = new Float32Array(norm.data);
      data[3] = bad;
      damaged.set('model.norm.weight', { shape: norm.shape, data });
      await writeState({ config: JSON.stringify(base()), weights: encodeSafetensors(damaged), manifest: null });
      const error = await loadModel(runtime, directory).catch((caught: unknown) => caught);
      expect(String(error)).toMatch(/non-finite/);
      const allNan = new Map([...tensors].map(([name, tensor]) => [name, { shape: tensor.shape, data: new Float32Array(tensor.data.length).fill(Number.NaN) }]));
      await writeState({ config: JSON.stringify(base()), weights: encodeSafetensors(allNan, { dtype: 'F16' }), manifest: null });
      expect(await outcome()).toBe('refused');
    }
  });
});
