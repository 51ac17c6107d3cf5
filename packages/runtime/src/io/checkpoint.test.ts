import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectRefused } from '../__fixtures__/expect-refused.js';
import { createRuntime, type BackendName } from '../backend/runtime.js';
import { LlamaModel } from '../model/llama-model.js';
import { loadModel, saveModel } from './checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import { tinyConfig } from '../__fixtures__/test-configs.js';


for (const backend of ['wasm', 'cpu'] as BackendName[]) {
  describe(`checkpoints on ${backend}`, () => {
    let directory: string;
    beforeEach(async () => {
      directory = await mkdtemp(join(tmpdir(), 'checkpoint-'));
    });
    afterEach(async () => {
      await rm(directory, { recursive: true, force: true });
    });

    it('save then load gives identical logits (f32) and close logits (f16); linear weights are stored [out, in]', async () => {
      const runtime = await createRuntime({ backend });
      for (const config of [tinyConfig, { ...tinyConfig, tiedEmbeddings: false }]) {
        const model = LlamaModel.create(runtime, config, { seed: 3, initializerRange: 0.1 });
        const ids = [[5, 9, 2, 7, 1]];
        const expected = model.logits(ids).dataSync().slice();
        await saveModel(model, directory);
        const stored = decodeSafetensors(await readFile(join(directory, 'model.safetensors')));
        expect(stored.tensors.get('model.layers.0.mlp.gate_proj.weight')!.shape).toEqual([config.feedForwardSize, config.hiddenSize]);
        expect(stored.tensors.has('lm_head.weight')).toBe(!config.tiedEmbeddings);
        const hfConfig = JSON.parse(await readFile(join(directory, 'config.json'), 'utf8'));
        expect(hfConfig).toMatchObject({ model_type: 'llama', hidden_size: 32, num_key_value_heads: 2, tie_word_embeddings: config.tiedEmbeddings });
        const loaded = await loadModel(runtime, directory, { expectedConfig: config });
        expect([...loaded.logits(ids).dataSync()]).toEqual([...expected]);
        loaded.dispose();
        await saveModel(model, directory, { dtype: 'F16' });
        const half = await loadModel(runtime, directory);
        const halfLogits = half.logits(ids).dataSync();
        let worst = 0;
        for (let index = 0; index < expected.length; index++) worst = Math.max(worst, Math.abs(halfLogits[index]! - expected[index]!));
        expect(worst).toBeGreaterThan(0);
        expect(worst).toBeLessThan(5e-3);
        half.dispose();
        model.dispose();
      }
    });
  });
}

describe('checkpoint refusal', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'checkpoint-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  async function saved(): Promise<{ runtime: Awaited<ReturnType<typeof createRuntime>>; weights: Uint8Array; config: Record<string, unknown> }> {
    const runtime = await createRuntime({ backend: 'wasm' });
    const model = LlamaModel.create(runtime, tinyConfig);
    await saveModel(model, directory);
    model.dispose();
    return {
      runtime,
      weights: await readFile(join(directory, 'model.safetensors')),
      config: JSON.parse(await readFile(join(directory, 'config.json'), 'utf8')) as Record<string, unknown>,
    };
  }

  /** Rewrites the files by hand, as a Hugging Face directory without codestack's manifest. */
  async function rewrite(weights: Uint8Array, config: Record<string, unknown>, keepChecksum = false): Promise<void> {
    const { codestack_weights_sha256: _ignored, ...rest } = config;
    await rm(join(directory, 'codestack-manifest.json'), { force: true });
    await writeFile(join(directory, 'model.safetensors'), weights);
    await writeFile(join(directory, 'config.json'), JSON.stringify(keepChecksum ? config : rest));
  }

  it('names the path and what it expected there when there is no checkpoint', async () => {
    const { runtime } = await saved();
    const missing = join(directory, 'nope');
    await expectRefused(loadModel(runtime, missing), 'MISSING_FILE', /nope: does not exist: expected a model checkpoint directory holding config\.json and model\.safetensors/);
    await rm(join(directory, 'codestack-manifest.json'), { force: true });
    await rm(join(directory, 'config.json'));
    await expectRefused(loadModel(runtime, directory), 'MISSING_FILE', /config\.json: does not exist: expected a model checkpoint directory/);
  });

  it('refuses a truncated weights file', async () => {
    const { runtime, weights, config } = await saved();
    await rewrite(weights.subarray(0, weights.length - 100), config);
    await expectRefused(loadModel(runtime, directory), 'CORRUPT_FILE', /outside/);
  });

  it('refuses flipped bytes through the recorded SHA-256', async () => {
    const { runtime, weights, config } = await saved();
    const damaged = new Uint8Array(weights);
    damaged[damaged.length - 3] = damaged[damaged.length - 3]! ^ 0xff;
    await rewrite(damaged, config, true);
    await expectRefused(loadModel(runtime, directory), 'CORRUPT_FILE', /SHA-256/);
  });

  it('refuses a wrong shape, a missing tensor and an extra tensor', async () => {
    const { runtime, weights, config } = await saved();
    const { tensors } = decodeSafetensors(weights);
    const wrongShape = new Map(tensors);
    wrongShape.set('model.norm.weight', { shape: [16, 2], data: tensors.get('model.norm.weight')!.data });
    await rewrite(encodeSafetensors(wrongShape), config);
    await expectRefused(loadModel(runtime, directory), 'MISMATCHED_FILE', /model\.norm\.weight has shape \[16, 2\]/);
    const missing = new Map(tensors);
    missing.delete('model.layers.1.self_attn.v_proj.weight');
    await rewrite(encodeSafetensors(missing), config);
    await expectRefused(loadModel(runtime, directory), 'MISMATCHED_FILE', /v_proj\.weight is missing/);
    const extra = new Map(tensors);
    extra.set('lm_head.weight', { shape: [48, 32], data: new Float32Array(48 * 32) });
    await rewrite(encodeSafetensors(extra), config);
    await expectRefused(loadModel(runtime, directory), 'MISMATCHED_FILE', /unexpected tensor lm_head/);
  });

  it('refuses a config that does not match the weights, an invalid config, bad JSON and a different expected config', async () => {
    const { runtime, weights, config } = await saved();
    await rewrite(weights, { ...config, intermediate_size: 96 });
    await expectRefused(loadModel(runtime, directory), 'MISMATCHED_FILE', /implies \[96, 32\]/);
    await rewrite(weights, { ...config, num_key_value_heads: 3 });
    await expectRefused(loadModel(runtime, directory), 'CORRUPT_FILE', /keyValueHeads/);
    await writeFile(join(directory, 'config.json'), '{"vocab_size": 4');
    await expectRefused(loadModel(runtime, directory), 'CORRUPT_FILE', /not valid JSON/);
    await rewrite(weights, config);
    await expectRefused(loadModel(runtime, directory, { expectedConfig: { ...tinyConfig, ropeTheta: 500000 } }), 'MISMATCHED_FILE', /ropeTheta/);
    await rm(join(directory, 'model.safetensors'));
    await expectRefused(loadModel(runtime, directory), 'MISSING_FILE', /does not exist/);
  });
});
