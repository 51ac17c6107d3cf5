import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileFormatError, sha256Hex } from '@codestack/core';
import { decodeSafetensors, encodeSafetensors } from '@codestack/runtime';
import { Adapter } from './adapter.js';
import { adapterFileSize, adapterFiles, loadAdapter, saveAdapter } from './adapter-files.js';
import { fingerprintModel } from './base-model-fingerprint.js';
import { logitsOf, maximumDifference, randomizeAdapter, tinyModel, removeTemporaryDirectories, temporaryDirectory } from './test-support.js';

afterAll(removeTemporaryDirectories);

async function expectRefused(promise: Promise<unknown>, reason: 'corrupt' | 'mismatch' | 'missing', pattern: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(FileFormatError.isInstance(error), String(error)).toBe(true);
  expect((error as FileFormatError).reason).toBe(reason);
  expect((error as Error).message).toMatch(pattern);
}

describe('saveAdapter / loadAdapter', () => {
  it('round-trips a LoRA adapter with PEFT names, layouts and config fields', async () => {
    const model = await tinyModel();
    const adapter = Adapter.create(model, { method: 'lora', r: 4, alpha: 16, dropout: 0.1, useRsLora: true, targetModules: ['q_proj', 'down_proj'], baseModelName: 'tiny' });
    randomizeAdapter(adapter, 3);
    const directory = await temporaryDirectory();
    const saved = await saveAdapter(adapter, model, directory);
    expect(saved.baseFingerprint).toBe(fingerprintModel(model));
    expect(await adapterFileSize(directory)).toBe(saved.weightsBytes);

    const config = JSON.parse(await readFile(join(directory, adapterFiles.config), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({
      peft_type: 'LORA',
      r: 4,
      lora_alpha: 16,
      lora_dropout: 0.1,
      use_rslora: true,
      target_modules: ['q_proj', 'down_proj'],
      layers_to_transform: [1],
      base_model_name_or_path: 'tiny',
      task_type: 'CAUSAL_LM',
      codestack_base_model_fingerprint: saved.baseFingerprint,
    });
    const bytes = await readFile(join(directory, adapterFiles.weights));
    expect(config.codestack_adapter_sha256).toBe(sha256Hex(bytes));
    const { tensors } = decodeSafetensors(bytes);
    expect([...tensors.keys()].sort()).toEqual([
      'base_model.model.model.layers.1.mlp.down_proj.lora_A.weight',
      'base_model.model.model.layers.1.mlp.down_proj.lora_B.weight',
      'base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight',
      'base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight',
    ]);
    expect(tensors.get('base_model.model.model.layers.1.mlp.down_proj.lora_A.weight')?.shape).toEqual([4, 32]);
    expect(tensors.get('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight')?.shape).toEqual([16, 4]);

    model.linearHook = adapter.hook;
    const expected = logitsOf(model);
    const loaded = await loadAdapter(model, directory);
    model.linearHook = loaded.hook;
    expect(maximumDifference(logitsOf(model), expected)).toBe(0);
    expect(loaded.name).toBe(directory.split('/').pop());
    model.linearHook = undefined;
    adapter.dispose();
    loaded.dispose();
    model.dispose();
  });

  it('round-trips IA3 vectors as ia3_l [out, 1] and, for feed-forward modules, [1, in]', async () => {
    const model = await tinyModel();
    const adapter = Adapter.create(model, { method: 'ia3', layers: [0, 2] });
    randomizeAdapter(adapter, 4);
    const directory = await temporaryDirectory();
    await saveAdapter(adapter, model, directory);
    const config = JSON.parse(await readFile(join(directory, adapterFiles.config), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ peft_type: 'IA3', target_modules: ['k_proj', 'v_proj', 'down_proj'], feedforward_modules: ['down_proj'], layers_to_transform: [0, 2] });
    const { tensors } = decodeSafetensors(await readFile(join(directory, adapterFiles.weights)));
    expect(tensors.get('base_model.model.model.layers.2.self_attn.k_proj.ia3_l')?.shape).toEqual([8, 1]);
    expect(tensors.get('base_model.model.model.layers.2.mlp.down_proj.ia3_l')?.shape).toEqual([1, 32]);
    model.linearHook = adapter.hook;
    const expected = logitsOf(model);
    const loaded = await loadAdapter(model, directory);
    model.linearHook = loaded.hook;
    expect(maximumDifference(logitsOf(model), expected)).toBe(0);
    model.linearHook = undefined;
    adapter.dispose();
    loaded.dispose();
    model.dispose();
  });

  it('writes F16 tensors on request and widens them on load', async () => {
    const model = await tinyModel();
    const adapter = Adapter.create(model, { method: 'lora', r: 4 });
    randomizeAdapter(adapter, 8);
    const directory = await temporaryDirectory();
    const full = await saveAdapter(adapter, model, directory);
    const half = await saveAdapter(adapter, model, directory, { dtype: 'F16' });
    // Two bytes less per parameter (the header differs only in offset digits).
    expect(full.weightsBytes - half.weightsBytes).toBeGreaterThan(adapter.parameterCount() * 2 - 64);
    const { tensors } = decodeSafetensors(await readFile(join(directory, adapterFiles.weights)));
    expect([...tensors.values()].every((tensor) => tensor.dtype === 'F16')).toBe(true);
    model.linearHook = adapter.hook;
    const expected = logitsOf(model);
    const loaded = await loadAdapter(model, directory);
    model.linearHook = loaded.hook;
    const difference = maximumDifference(logitsOf(model), expected);
    expect(difference).toBeGreaterThan(0);
    expect(difference).toBeLessThan(1e-2);
    model.linearHook = undefined;
    adapter.dispose();
    loaded.dispose();
    model.dispose();
  });

  it('loads a plain PEFT directory (no fingerprint, no checksum) by shape', async () => {
    const model = await tinyModel();
    const adapter = Adapter.create(model, { method: 'lora', r: 2, targetModules: ['v_proj'], layers: 'all' });
    randomizeAdapter(adapter, 9);
    const directory = await temporaryDirectory();
    await saveAdapter(adapter, model, directory);
    const configPath = join(directory, adapterFiles.config);
    const json = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
    // What PEFT itself writes: a pattern may stand for the modules and null for every layer.
    const peft = { ...json, target_modules: 'v_proj', layers_to_transform: null } as Record<string, unknown>;
    for (const key of Object.keys(peft)) if (key.startsWith('codestack_')) delete peft[key];
    await writeFile(configPath, JSON.stringify(peft));
    await rm(join(directory, 'codestack-manifest.json'));
    const other = await tinyModel(3);
    const loaded = await loadAdapter(other, directory);
    expect(loaded.baseFingerprint).toBeUndefined();
    expect(loaded.config.layers).toEqual([0, 1, 2]);
    expect(maximumDifference(loaded.exportTensors().get('base_model.model.model.layers.2.self_attn.v_proj.lora_B.weight')?.data ?? [], adapter.exportTensors().get('base_model.model.model.layers.2.self_attn.v_proj.lora_B.weight')?.data ?? [1])).toBe(0);
    adapter.dispose();
    loaded.dispose();
    other.dispose();
    model.dispose();
  });

  it('refuses an adapter trained on a different base model', async () => {
    const model = await tinyModel(1);
    const other = await tinyModel(2);
    const adapter = Adapter.create(model, { method: 'lora', r: 2 });
    const directory = await temporaryDirectory();
    await saveAdapter(adapter, model, directory);
    await expectRefused(loadAdapter(other, directory), 'mismatch', /trained on base/);
    // A model of another shape is refused too.
    const wider = await tinyModel(1, { ...model.config, layers: 1 });
    // The fingerprint is checked first, before the configuration is resolved against the model.
    await expectRefused(loadAdapter(wider, directory), 'mismatch', /trained on base/);
    adapter.dispose();
    model.dispose();
    other.dispose();
    wider.dispose();
  });

  it('refuses truncated, checksum-failing, wrongly shaped, incomplete and missing files', async () => {
    const model = await tinyModel();
    const adapter = Adapter.create(model, { method: 'lora', r: 2, targetModules: ['q_proj', 'v_proj'] });
    randomizeAdapter(adapter, 5);
    const directory = await temporaryDirectory();
    await saveAdapter(adapter, model, directory);
    const weightsPath = join(directory, adapterFiles.weights);
    const configPath = join(directory, adapterFiles.config);
    const goodBytes = await readFile(weightsPath);
    const goodConfig = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
    // Edited by hand below: without the manifest, as a directory written before manifests existed.
    await rm(join(directory, 'codestack-manifest.json'));

    // Truncated: the recorded checksum no longer matches.
    await writeFile(weightsPath, goodBytes.subarray(0, goodBytes.length - 10));
    await expectRefused(loadAdapter(model, directory), 'corrupt', /SHA-256 differs/);
    // Truncated with a matching checksum (e.g. a plain PEFT file without one): the safetensors check catches it.
    await writeFile(configPath, JSON.stringify({ ...goodConfig, codestack_adapter_sha256: undefined }));
    await expectRefused(loadAdapter(model, directory), 'corrupt', /outside the .* data bytes|truncated/);
    // One flipped byte in the data.
    const flipped = Uint8Array.from(goodBytes);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 0xff;
    await writeFile(weightsPath, flipped);
    await writeFile(configPath, JSON.stringify(goodConfig));
    await expectRefused(loadAdapter(model, directory), 'corrupt', /SHA-256 differs/);

    const { tensors } = decodeSafetensors(goodBytes);
    const rewrite = async (changed: Map<string, { shape: number[]; data: Float32Array }>): Promise<void> => {
      const bytes = encodeSafetensors(changed);
      await writeFile(weightsPath, bytes);
      await writeFile(configPath, JSON.stringify({ ...goodConfig, codestack_adapter_sha256: sha256Hex(bytes) }));
    };
    // Wrong shape (consistent checksum).
    const wrongShape = new Map(tensors);
    wrongShape.set('base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight', { shape: [4, 8], data: new Float32Array(32) });
    await rewrite(wrongShape);
    await expectRefused(loadAdapter(model, directory), 'mismatch', /has shape \[4, 8\], expected \[2, 16\]/);
    // Missing tensor.
    const missing = new Map(tensors);
    missing.delete('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight');
    await rewrite(missing);
    await expectRefused(loadAdapter(model, directory), 'mismatch', /v_proj.lora_B.weight is missing/);
    // Unexpected extra tensor.
    const extra = new Map(tensors);
    extra.set('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', { shape: [2, 16], data: new Float32Array(32) });
    await rewrite(extra);
    await expectRefused(loadAdapter(model, directory), 'mismatch', /unexpected tensor/);
    // Broken config JSON, and missing files.
    await writeFile(configPath, '{"peft_type": "LORA", ');
    await expectRefused(loadAdapter(model, directory), 'corrupt', /not a JSON object/);
    await expectRefused(loadAdapter(model, join(directory, 'nowhere')), 'missing', /cannot read/);
    await writeFile(configPath, JSON.stringify(goodConfig));
    await rm(weightsPath);
    await expectRefused(loadAdapter(model, directory), 'missing', /cannot read/);
    adapter.dispose();
    model.dispose();
  });
});
