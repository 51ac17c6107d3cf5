import { execFileSync, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import { Adapter } from './adapter.js';
import { adapterFiles, loadAdapter, saveAdapter } from './adapter-files.js';
import { fromPeftConfig, resolveAdapterConfig, toPeftConfig } from './adapter-config.js';
import { trainAdapter } from './train-adapter.js';
import { architectureModel, patternSequences, removeTemporaryDirectories, temporaryDirectory } from './test-support.js';

afterAll(removeTemporaryDirectories);

/*
 * Golden lists written from PEFT's conventions (peft/tuners/lora, peft/tuners/ia3,
 * peft/utils/save_and_load.get_peft_model_state_dict): the state dict of a PeftModel for
 * causal LM wraps the Hugging Face model as `base_model.model.`, so a module path
 * `model.layers.1.self_attn.q_proj` becomes `base_model.model.model.layers.1.self_attn.q_proj`;
 * the adapter name (`default`) is removed; LoRA's A and B are nn.Linear, so `.lora_A.weight`
 * [r, in] and `.lora_B.weight` [out, r]; IA3's vector is a bare parameter `.ia3_l`,
 * [out, 1] for an output-scaled module and [1, in] for a feed-forward (input-scaled) one.
 * The tiny Qwen2 layout: hidden 32, 4 heads of 8, 2 key/value heads (width 16), intermediate 48.
 */
const goldenLoraTensors: Record<string, number[]> = {
  'base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight': [4, 32],
  'base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight': [32, 4],
  'base_model.model.model.layers.1.self_attn.k_proj.lora_A.weight': [4, 32],
  'base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight': [16, 4],
  'base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight': [4, 32],
  'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight': [16, 4],
  'base_model.model.model.layers.1.self_attn.o_proj.lora_A.weight': [4, 32],
  'base_model.model.model.layers.1.self_attn.o_proj.lora_B.weight': [32, 4],
  'base_model.model.model.layers.1.mlp.gate_proj.lora_A.weight': [4, 32],
  'base_model.model.model.layers.1.mlp.gate_proj.lora_B.weight': [48, 4],
  'base_model.model.model.layers.1.mlp.up_proj.lora_A.weight': [4, 32],
  'base_model.model.model.layers.1.mlp.up_proj.lora_B.weight': [48, 4],
  'base_model.model.model.layers.1.mlp.down_proj.lora_A.weight': [4, 48],
  'base_model.model.model.layers.1.mlp.down_proj.lora_B.weight': [32, 4],
};

const goldenIa3Tensors: Record<string, number[]> = {
  'base_model.model.model.layers.1.self_attn.k_proj.ia3_l': [16, 1],
  'base_model.model.model.layers.1.self_attn.v_proj.ia3_l': [16, 1],
  'base_model.model.model.layers.1.mlp.down_proj.ia3_l': [1, 48],
};

/** `adapter_config.json` keys with the values PEFT (LoraConfig.to_dict) writes and vLLM checks (bias none, no DoRA, no modules_to_save). */
const goldenLoraConfig: Record<string, unknown> = {
  peft_type: 'LORA',
  task_type: 'CAUSAL_LM',
  r: 4,
  lora_alpha: 8,
  lora_dropout: 0.05,
  target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  layers_to_transform: [1],
  layers_pattern: null,
  bias: 'none',
  fan_in_fan_out: false,
  base_model_name_or_path: 'Qwen/Qwen2.5-0.5B',
  inference_mode: true,
  modules_to_save: null,
  use_rslora: false,
  use_dora: false,
  rank_pattern: {},
  alpha_pattern: {},
  init_lora_weights: true,
  revision: null,
};

const goldenIa3Config: Record<string, unknown> = {
  peft_type: 'IA3',
  task_type: 'CAUSAL_LM',
  target_modules: ['k_proj', 'v_proj', 'down_proj'],
  feedforward_modules: ['down_proj'],
  layers_to_transform: [1],
  layers_pattern: null,
  fan_in_fan_out: false,
  base_model_name_or_path: 'Qwen/Qwen2.5-0.5B',
  inference_mode: true,
  modules_to_save: null,
  init_ia3_weights: true,
  revision: null,
};

/** Reads a safetensors header the way any reader does: 8-byte little-endian length, then JSON. */
function safetensorsHeader(bytes: Uint8Array): Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> {
  const length = Number(Buffer.from(bytes).readBigUInt64LE(0));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + length)).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  delete header.__metadata__;
  return header;
}

const pythonScript = `
import json, struct, sys
with open(sys.argv[1], 'rb') as handle:
    (length,) = struct.unpack('<Q', handle.read(8))
    header = json.loads(handle.read(length))
    body = len(handle.read())
metadata = header.pop('__metadata__', {})
end = max(entry['data_offsets'][1] for entry in header.values())
print(json.dumps({'format': metadata.get('format'), 'tensors': {name: [entry['dtype'], entry['shape']] for name, entry in header.items()}, 'body_matches': end == body}))
`;

const python = spawnSync('/usr/bin/python3', ['-c', 'import json, struct'], { encoding: 'utf8' }).status === 0 ? '/usr/bin/python3' : undefined;

async function trainedDirectory(method: 'lora' | 'ia3'): Promise<string> {
  const model = await architectureModel('qwen2', 11);
  const config =
    method === 'lora'
      ? ({ method, r: 4, alpha: 8, dropout: 0.05, targetModules: 'all-linear', layers: 'middle', baseModelName: 'Qwen/Qwen2.5-0.5B' } as const)
      : ({ method, layers: 'middle', baseModelName: 'Qwen/Qwen2.5-0.5B' } as const);
  const adapter = Adapter.create(model, config, { seed: 1 });
  await trainAdapter({ model, adapter, data: { sequences: patternSequences(8, 17) }, steps: 3, sequenceLength: 16, learningRate: 1e-2, silent: true });
  const directory = await temporaryDirectory('peft-conformance-');
  await saveAdapter(adapter, model, directory);
  // A plain PEFT directory (no codestack manifest) must load too.
  const reloaded = await loadAdapter(model, directory);
  expect(reloaded.parameterCount()).toBe(adapter.parameterCount());
  reloaded.dispose();
  adapter.dispose();
  model.dispose();
  return directory;
}

describe('PEFT conformance of saved adapters (tiny Qwen2 layout)', () => {
  it.each([
    ['lora', goldenLoraTensors, goldenLoraConfig],
    ['ia3', goldenIa3Tensors, goldenIa3Config],
  ] as const)('%s: file names, tensor names and shapes, and adapter_config.json keys are PEFT\'s', async (method, goldenTensors, goldenConfig) => {
    const directory = await trainedDirectory(method);
    const bytes = new Uint8Array(await readFile(join(directory, adapterFiles.weights)));
    expect(adapterFiles).toEqual({ config: 'adapter_config.json', weights: 'adapter_model.safetensors' });
    const header = safetensorsHeader(bytes);
    expect(Object.fromEntries(Object.entries(header).map(([name, entry]) => [name, entry.shape]))).toEqual(goldenTensors);
    for (const entry of Object.values(header)) expect(entry.dtype).toBe('F32');
    const json = JSON.parse(await readFile(join(directory, adapterFiles.config), 'utf8')) as Record<string, unknown>;
    const peftKeys = Object.fromEntries(Object.entries(json).filter(([key]) => !key.startsWith('codestack_')));
    expect(peftKeys).toEqual(goldenConfig);
  });

  it.skipIf(python === undefined)('python3 reads the same names, shapes and sizes from adapter_model.safetensors (struct + json, no torch)', async () => {
    const directory = await trainedDirectory('lora');
    const output = execFileSync(python as string, ['-c', pythonScript, join(directory, adapterFiles.weights)], { encoding: 'utf8' });
    const result = JSON.parse(output) as { format: string; tensors: Record<string, [string, number[]]>; body_matches: boolean };
    expect(result.format).toBe('pt');
    expect(result.body_matches).toBe(true);
    expect(Object.fromEntries(Object.entries(result.tensors).map(([name, [, shape]]) => [name, shape]))).toEqual(goldenLoraTensors);
  });
  if (python === undefined) console.warn('python3 is not available: skipping the Python reader check of adapter_model.safetensors');
});

describe('target_modules as PEFT matches it (full module paths)', () => {
  const resolve = (targetModules: unknown, layers?: unknown) =>
    resolveAdapterConfig({ method: 'lora', targetModules, ...(layers === undefined ? {} : { layers }) } as never, 4);

  it('a string pattern full-matches model.layers.N.self_attn.q_proj and picks its layers', () => {
    expect(resolve('.*\\.(q|v)_proj')).toMatchObject({ targetModules: ['q_proj', 'v_proj'], layers: [0, 1, 2, 3] });
    expect(resolve('model\\.layers\\.(1|2)\\.self_attn\\.(q_proj|k_proj)')).toMatchObject({ targetModules: ['q_proj', 'k_proj'], layers: [1, 2] });
    expect(resolve('.*mlp\\..*')).toMatchObject({ targetModules: ['gate_proj', 'up_proj', 'down_proj'] });
    // The older form, matched against the bare projection name, still works.
    expect(resolve('(q|v)_proj')).toMatchObject({ targetModules: ['q_proj', 'v_proj'], layers: [1, 2] });
    // PEFT's fullmatch: a pattern matching only part of the path selects nothing.
    expect(() => resolve('self_attn')).toThrow(InvalidArgumentError);
  });

  it('list names match path suffixes; per-layer differences, lm_head and norms are refused', () => {
    expect(resolve(['self_attn.q_proj', 'mlp.down_proj'], 'all')).toMatchObject({ targetModules: ['q_proj', 'down_proj'], layers: [0, 1, 2, 3] });
    expect(resolve(['model.layers.2.self_attn.v_proj'], 'all')).toMatchObject({ targetModules: ['v_proj'], layers: [2] });
    expect(() => resolve(['model.layers.2.self_attn.v_proj', 'model.layers.1.self_attn.q_proj'], 'all')).toThrow(/same projections/);
    expect(() => resolve(['q_proj', 'lm_head'])).toThrow(/lm_head/);
    expect(() => resolve(['self_attn.q_norm'])).toThrow(/q_norm/);
    expect(() => resolve(['proj'])).toThrow(/unknown module/);
  });

  it('reads PEFT and vLLM adapter_config.json forms and refuses what it cannot honour', () => {
    const peft = { peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: 'model\\.layers\\.\\d+\\.self_attn\\.(q|k|v|o)_proj', layers_to_transform: null };
    expect(resolveAdapterConfig(fromPeftConfig(peft), 3)).toMatchObject({ targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], layers: [0, 1, 2] });
    expect(() => fromPeftConfig({ ...peft, use_dora: true })).toThrow(/use_dora|DoRA/);
    expect(() => fromPeftConfig({ ...peft, rank_pattern: { q_proj: 4 } })).toThrow(/rank_pattern/);
    expect(toPeftConfig(resolveAdapterConfig(fromPeftConfig({ ...peft, rank_pattern: {}, alpha_pattern: {}, use_dora: false }), 3))).toMatchObject({
      target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
      layers_to_transform: [0, 1, 2],
    });
  });
});
