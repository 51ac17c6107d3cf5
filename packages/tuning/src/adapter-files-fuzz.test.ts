import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodestackError, FileFormatError } from '@codestack/core';
import { decodeSafetensors, encodeSafetensors, type LlamaModel } from '@codestack/runtime';
import { Adapter } from './adapter.js';
import { loadAdapter, saveAdapter } from './adapter-files.js';
import { fingerprintModel } from './base-model-fingerprint.js';
import { randomizeAdapter, removeTemporaryDirectories, temporaryDirectory, tinyModel } from './test-support.js';

// Every damaged adapter directory must be refused with a typed error or load exactly the saved adapter.

let model: LlamaModel;
let directory: string;
let fingerprint: string;
let original: { config: Uint8Array; weights: Uint8Array; manifest: Uint8Array };
let reference: Map<string, Float32Array>;
let tensorsBefore: number;

beforeAll(async () => {
  model = await tinyModel();
  fingerprint = fingerprintModel(model);
  const adapter = Adapter.create(model, { method: 'lora', r: 2, alpha: 4, targetModules: ['q_proj', 'v_proj'], layers: 'all' });
  randomizeAdapter(adapter, 4);
  directory = await temporaryDirectory('adapter-fuzz-');
  await saveAdapter(adapter, model, directory);
  reference = new Map([...adapter.exportTensors()].map(([name, tensor]) => [name, tensor.data]));
  adapter.dispose();
  original = {
    config: await readFile(join(directory, 'adapter_config.json')),
    weights: await readFile(join(directory, 'adapter_model.safetensors')),
    manifest: await readFile(join(directory, 'codestack-manifest.json')),
  };
  tensorsBefore = model.runtime.tf.memory().numTensors;
});

afterAll(async () => {
  expect(model.runtime.tf.memory().numTensors).toBe(tensorsBefore);
  model.dispose();
  await removeTemporaryDirectories();
});

type Outcome = 'refused' | 'identical' | 'different';

async function writeState(files: { config?: Uint8Array | string; weights?: Uint8Array; manifest?: Uint8Array | null }): Promise<void> {
  await writeFile(join(directory, 'adapter_config.json'), files.config ?? original.config);
  await writeFile(join(directory, 'adapter_model.safetensors'), files.weights ?? original.weights);
  if (files.manifest === null) await rm(join(directory, 'codestack-manifest.json'), { force: true });
  else await writeFile(join(directory, 'codestack-manifest.json'), files.manifest ?? original.manifest);
}

async function outcome(): Promise<Outcome> {
  let adapter: Adapter;
  try {
    adapter = await loadAdapter(model, directory, { baseFingerprint: fingerprint });
  } catch (error) {
    expect(CodestackError.isInstance(error) && FileFormatError.isInstance(error), String(error)).toBe(true);
    return 'refused';
  }
  const tensors = adapter.exportTensors();
  const resolved = adapter.config;
  adapter.dispose();
  const same =
    resolved.method === 'lora' &&
    resolved.scale === 2 &&
    resolved.dropout === 0 &&
    tensors.size === reference.size &&
    [...tensors].every(([name, tensor]) => {
      const expected = reference.get(name);
      return expected !== undefined && expected.every((value, index) => Object.is(value, tensor.data[index]));
    });
  return same ? 'identical' : 'different';
}

function flipped(bytes: Uint8Array, position: number, bit: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[position] = copy[position]! ^ (1 << bit);
  return copy;
}

const flip = (length: number): fc.Arbitrary<[number, number]> => fc.tuple(fc.nat({ max: length - 1 }), fc.nat({ max: 7 }));
const headerEnd = (weights: Uint8Array): number => 8 + Number(new DataView(weights.buffer, weights.byteOffset).getBigUint64(0, true));

describe('bit flips in a saved adapter (with its manifest)', () => {
  it('adapter_config.json, adapter_model.safetensors: every flip is refused; the manifest: refused or nothing changes', async () => {
    const seen: Record<Outcome, number> = { refused: 0, identical: 0, different: 0 };
    for (const [file, bytes, runs] of [['config', original.config, 250], ['weights', original.weights, 250], ['manifest', original.manifest, 200]] as const) {
      await fc.assert(
        fc.asyncProperty(flip(bytes.length), async ([position, bit]) => {
          await writeState({ [file]: flipped(bytes, position, bit) });
          const result = await outcome();
          seen[result]++;
          if (file === 'manifest') expect(result).not.toBe('different');
          else expect(result).toBe('refused');
        }),
        { numRuns: runs, seed: 31 },
      );
    }
    expect(seen.different).toBe(0);
  });
});

describe('a plain PEFT directory (no manifest, no recorded checksum)', () => {
  const plain = (change: Record<string, unknown> = {}): string => {
    const json = JSON.parse(new TextDecoder().decode(original.config)) as Record<string, unknown>;
    delete json.codestack_adapter_sha256;
    return JSON.stringify({ ...json, ...change }, null, 2);
  };

  it('config flips: refused with a typed error or loaded, quickly; header flips: refused or identical', async () => {
    const config = new TextEncoder().encode(plain());
    await fc.assert(
      fc.asyncProperty(flip(config.length), async ([position, bit]) => {
        await writeState({ config: flipped(config, position, bit), manifest: null });
        const started = performance.now();
        await outcome();
        expect(performance.now() - started).toBeLessThan(2_000);
      }),
      { numRuns: 250, seed: 32 },
    );
    await fc.assert(
      fc.asyncProperty(flip(headerEnd(original.weights)), async ([position, bit]) => {
        await writeState({ config: plain(), weights: flipped(original.weights, position, bit), manifest: null });
        expect(await outcome()).not.toBe('different');
      }),
      { numRuns: 250, seed: 33 },
    );
  });

  it('truncation at every boundary and oversized header lengths are refused', async () => {
    const end = headerEnd(original.weights);
    const cuts = new Set([0, 4, 7, 8, 9, end - 1, end, end + 1, original.weights.length - 1]);
    for (let cut = end; cut < original.weights.length; cut += 64) cuts.add(cut);
    for (const cut of cuts) {
      await writeState({ config: plain(), weights: original.weights.subarray(0, cut), manifest: null });
      expect(await outcome()).toBe('refused');
      await writeState({ weights: original.weights.subarray(0, cut) });
      expect(await outcome()).toBe('refused');
    }
    for (const length of [2n ** 40n, 2n ** 63n, BigInt(original.weights.length)]) {
      const weights = new Uint8Array(original.weights);
      new DataView(weights.buffer).setBigUint64(0, length, true);
      await writeState({ config: plain(), weights, manifest: null });
      expect(await outcome()).toBe('refused');
    }
  });

  it('refuses hostile fields (huge alpha or rank, NaN weights) and bounds a hostile target_modules pattern', async () => {
    for (const change of [{ lora_alpha: 1e308 }, { lora_alpha: -4 }, { lora_alpha: '4' }, { r: 1e9 }, { r: 2.5 }, { lora_dropout: 1 }, { layers_to_transform: [0, 99] }, { target_modules: 'x'.repeat(300) }, { target_modules: Array.from({ length: 100 }, () => 'q_proj') }, { peft_type: 'PREFIX' }]) {
      await writeState({ config: plain(change), manifest: null });
      expect(await outcome(), JSON.stringify(change).slice(0, 80)).toBe('refused');
    }
    // Nested quantifiers cost PEFT's backtracking regex 30 s per load; here they are matched in linear time.
    const started = performance.now();
    await writeState({ config: plain({ target_modules: '(((([a-z_]*)*)*)*)*Z' }), manifest: null });
    expect(await outcome()).toBe('refused');
    await writeState({ config: plain({ target_modules: '((((([a-z_]*)*)*)*)*Z' }), manifest: null });
    expect(await outcome()).toBe('refused');
    expect(performance.now() - started).toBeLessThan(1_000);
    // A pattern that selects the same modules loads the same adapter.
    await writeState({ config: plain({ target_modules: '(q|v)_proj' }), manifest: null });
    expect(await outcome()).toBe('identical');
    const { tensors } = decodeSafetensors(original.weights);
    const poisoned = new Map(tensors);
    const [name, tensor] = [...tensors][0]!;
    poisoned.set(name, { shape: tensor.shape, data: new Float32Array(tensor.data.length).fill(Number.NaN) });
    await writeState({ config: plain(), weights: encodeSafetensors(poisoned), manifest: null });
    expect(await outcome()).toBe('refused');
  });

  it('checks the base fingerprint before it resolves (and compiles) the configuration', async () => {
    const other = await tinyModel(9);
    await writeState({ config: plain({ target_modules: '(' }), manifest: null });
    const error = await loadAdapter(other, directory).catch((caught: unknown) => caught);
    expect(String(error)).toMatch(/trained on base/);
    other.dispose();
  });
});
