import { afterAll, describe, expect, it } from 'vitest';
import { headSize } from '@codestack/runtime';
import { Adapter } from './adapter.js';
import { AdapterSet } from './adapter-set.js';
import { loadAdapter, saveAdapter } from './adapter-files.js';
import { evaluatePerplexity } from './evaluate-perplexity.js';
import { mergeAdapter, unmergeAdapter } from './merge-adapter.js';
import { trainAdapter } from './train-adapter.js';
import {
  architectureConfigs,
  architectureModel,
  logitsOf,
  maximumDifference,
  patternSequences,
  randomizeAdapter,
  removeTemporaryDirectories,
  temporaryDirectory,
  testRuntime,
  weightBytes,
} from './test-support.js';

afterAll(removeTemporaryDirectories);

const data = { sequences: patternSequences(24, 17) };

describe.each(Object.keys(architectureConfigs))('adapters on a %s-layout model', (name) => {
  it('LoRA shapes come from the weights; training lowers the loss and touches no base weight, norm or head', async () => {
    const model = await architectureModel(name);
    const config = model.config;
    const queryWidth = config.attentionHeads * headSize(config);
    const keyValueWidth = config.keyValueHeads * headSize(config);
    const adapter = Adapter.create(model, { method: 'lora', r: 4, alpha: 8, targetModules: 'all-linear', layers: 'all' }, { seed: 2 });
    const tensors = adapter.exportTensors();
    const prefix = 'base_model.model.model.layers.1';
    expect(tensors.get(`${prefix}.self_attn.q_proj.lora_A.weight`)?.shape).toEqual([4, config.hiddenSize]);
    expect(tensors.get(`${prefix}.self_attn.q_proj.lora_B.weight`)?.shape).toEqual([queryWidth, 4]);
    expect(tensors.get(`${prefix}.self_attn.k_proj.lora_B.weight`)?.shape).toEqual([keyValueWidth, 4]);
    expect(tensors.get(`${prefix}.self_attn.o_proj.lora_A.weight`)?.shape).toEqual([4, queryWidth]);
    expect(tensors.get(`${prefix}.mlp.down_proj.lora_A.weight`)?.shape).toEqual([4, config.feedForwardSize]);
    expect(tensors.size).toBe(3 * 7 * 2);
    for (const tensorName of tensors.keys()) expect(tensorName).toMatch(/^base_model\.model\.model\.layers\.\d\.(self_attn|mlp)\.\w+_proj\.lora_[AB]\.weight$/);
    // Never trainable and never in the file: q/k norms, biases, lm_head, embeddings.
    for (const tensorName of adapter.trainableVariables().keys()) expect(tensorName).not.toMatch(/norm|bias|lm_head|embed_tokens/);
    expect(() => Adapter.create(model, { method: 'lora', targetModules: ['q_proj', 'lm_head'] as never })).toThrow(/lm_head/);

    const before = weightBytes(model);
    const startLoss = (await evaluatePerplexity({ model, adapter, data, sequenceLength: 16 })).loss;
    await trainAdapter({ model, adapter, data, steps: 25, batchSize: 4, sequenceLength: 16, learningRate: 2e-2, warmupSteps: 2, silent: true });
    const endLoss = (await evaluatePerplexity({ model, adapter, data, sequenceLength: 16 })).loss;
    console.log(`${name}: LoRA r=4 loss ${startLoss.toFixed(3)} -> ${endLoss.toFixed(3)} in 25 steps`);
    expect(endLoss).toBeLessThan(startLoss - 0.2);
    for (const [weightName, bytes] of weightBytes(model)) expect(Buffer.compare(Buffer.from(bytes), Buffer.from(before.get(weightName) as Uint8Array)), weightName).toBe(0);
    adapter.dispose();
    model.dispose();
  });

  it.each(['lora', 'ia3'] as const)('%s: save → load gives identical logits, merge equals the hook within 1e-4, unmerge restores the base', async (method) => {
    const runtime = await testRuntime();
    const model = await architectureModel(name, 3);
    const config = method === 'lora' ? ({ method, r: 4, alpha: 8, targetModules: 'all-linear', layers: 'all' } as const) : ({ method, targetModules: 'all-linear', layers: 'all', feedforwardModules: ['down_proj'] } as const);
    const adapter = Adapter.create(model, config, { seed: 4 });
    randomizeAdapter(adapter, 5, method === 'lora' ? 0.3 : 0.2);
    const base = logitsOf(model);
    model.linearHook = adapter.hook;
    const adapted = logitsOf(model);
    expect(maximumDifference(base, adapted)).toBeGreaterThan(1e-2);
    model.linearHook = undefined;

    const directory = await temporaryDirectory();
    await saveAdapter(adapter, model, directory);
    const loaded = await loadAdapter(model, directory);
    model.linearHook = loaded.hook;
    expect(maximumDifference(logitsOf(model), adapted)).toBe(0);
    model.linearHook = undefined;

    const tensors = runtime.tf.memory().numTensors;
    const baseWeights = weightBytes(model);
    mergeAdapter(model, adapter);
    const merged = logitsOf(model);
    unmergeAdapter(model, adapter);
    console.log(`${name}/${method}: |merged - hook| = ${maximumDifference(merged, adapted).toExponential(2)}`);
    expect(maximumDifference(merged, adapted)).toBeLessThan(1e-4);
    expect(maximumDifference(logitsOf(model), base)).toBeLessThan(1e-4);
    for (const [weightName, bytes] of weightBytes(model)) {
      const original = new Float32Array((baseWeights.get(weightName) as Uint8Array).slice().buffer);
      expect(maximumDifference(new Float32Array(bytes.slice().buffer), original), weightName).toBeLessThan(1e-5);
    }
    expect(runtime.tf.memory().numTensors).toBe(tensors);
    loaded.dispose();
    adapter.dispose();
    model.dispose();
  });

  it('hot-swaps a LoRA and an IA3 adapter, each giving its own output, with a flat tensor count', async () => {
    const runtime = await testRuntime();
    const model = await architectureModel(name, 6);
    const lora = Adapter.create(model, { method: 'lora', r: 2, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], layers: 'all' }, { seed: 1 });
    const ia3 = Adapter.create(model, { method: 'ia3', layers: 'all' });
    randomizeAdapter(lora, 7);
    randomizeAdapter(ia3, 8, 0.2);
    const alone = (adapter: Adapter): Float32Array => {
      model.linearHook = adapter.hook;
      const values = logitsOf(model);
      model.linearHook = undefined;
      return values;
    };
    const expected = { lora: alone(lora), ia3: alone(ia3), base: logitsOf(model) };
    const set = new AdapterSet(model);
    set.add('lora', lora);
    set.add('ia3', ia3);
    const tensors = runtime.tf.memory().numTensors;
    for (let round = 0; round < 3; round++) {
      expect(maximumDifference(set.run('lora', () => logitsOf(model)), expected.lora)).toBe(0);
      expect(maximumDifference(set.run('ia3', () => logitsOf(model)), expected.ia3)).toBe(0);
      expect(maximumDifference(set.run(undefined, () => logitsOf(model)), expected.base)).toBe(0);
    }
    expect(maximumDifference(expected.lora, expected.ia3)).toBeGreaterThan(1e-2);
    expect(runtime.tf.memory().numTensors).toBe(tensors);
    set.dispose();
    model.dispose();
  });
});

describe('LoRA on biased projections', () => {
  it('keeps the base bias and adds B·A·x·(alpha/r) (Qwen2 q_proj)', async () => {
    const model = await architectureModel('qwen2', 9);
    const adapter = Adapter.create(model, { method: 'lora', r: 2, alpha: 6, targetModules: ['q_proj'], layers: [1] });
    randomizeAdapter(adapter, 10);
    const tf = model.runtime.tf;
    const weightName = 'model.layers.1.self_attn.q_proj.weight';
    const weight = model.getWeight(weightName);
    const bias = model.weights.get('model.layers.1.self_attn.q_proj.bias');
    expect(bias).toBeDefined();
    const module = adapter.modules.get(weightName)!;
    const input = tf.tensor2d(Array.from({ length: 3 * 32 }, (_, index) => Math.sin(index)), [3, 32]);
    const output = tf.add(tf.matMul(input, weight), bias!) as ReturnType<typeof tf.tensor2d>;
    const hooked = adapter.apply({ layer: 1, projection: 'q_proj', weightName, input, weight, output });
    const expected = tf.add(output, tf.mul(tf.matMul(tf.matMul(input, module.loraA!), module.loraB!), 6 / 2));
    expect(maximumDifference(hooked.dataSync(), expected.dataSync())).toBeLessThan(1e-5);
    tf.dispose([input, output, hooked, expected]);
    adapter.dispose();
    model.dispose();
  });
});
