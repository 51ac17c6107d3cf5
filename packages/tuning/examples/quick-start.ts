// Runnable: `npm run build -w packages/runtime -w packages/tuning && npx tsx packages/tuning/examples/quick-start.ts`
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LlamaModel, createRuntime } from '@codestack/runtime';
import { Adapter, AdapterSet, evaluatePerplexity, mergeAdapter, saveAdapter, trainAdapter, unmergeAdapter } from '@codestack/tuning';

// Byte-level tokens (UTF-8 bytes, 256 = begin of text) of two real rxjs operator sources.
const operators = join(dirname(createRequire(import.meta.url).resolve('rxjs/package.json')), 'src/internal/operators');
const tokens = async (name: string) => [256, ...new TextEncoder().encode(await readFile(join(operators, name), 'utf8'))];
const train = { sequences: [await tokens('map.ts'), await tokens('filter.ts')] };
const heldOut = { sequences: [await tokens('take.ts')] };

const runtime = await createRuntime({ backend: 'wasm' });
const model = LlamaModel.create(runtime, {
  vocabularySize: 260, hiddenSize: 64, layers: 3, attentionHeads: 4, keyValueHeads: 2,
  feedForwardSize: 128, maximumContext: 64, ropeTheta: 10000, normEpsilon: 1e-5, tiedEmbeddings: false,
});

// A LoRA adapter on the middle third of the layers (the default), all seven projections.
const adapter = Adapter.create(model, { method: 'lora', r: 8, alpha: 16, targetModules: 'all-linear' });
const before = await evaluatePerplexity({ model, adapter, data: heldOut });
const result = await trainAdapter({ model, adapter, data: train, steps: 40, batchSize: 4, sequenceLength: 64, learningRate: 1e-2, silent: true });
const after = await evaluatePerplexity({ model, adapter, data: heldOut });
console.log(`trainable ${(result.trainableShare * 100).toFixed(2)}% · held-out loss ${before.loss.toFixed(3)} → ${after.loss.toFixed(3)}`);

// PEFT files: adapter_config.json + adapter_model.safetensors, with the base model's fingerprint.
const directory = await mkdtemp(join(tmpdir(), 'rxjs-adapter-'));
const saved = await saveAdapter(adapter, model, directory);
console.log(`saved ${saved.weightsBytes} bytes, base ${saved.baseFingerprint.slice(0, 12)}…`);

// Serve: one base, adapters chosen per request.
const set = new AdapterSet(model);
await set.load('rxjs', directory);
const withAdapter = set.run('rxjs', () => model.logits([[256, 105, 109]]).arraySync()[0]![2]![0]);
const plain = set.run(undefined, () => model.logits([[256, 105, 109]]).arraySync()[0]![2]![0]);
console.log(`one logit with the adapter ${withAdapter?.toFixed(4)}, without ${plain?.toFixed(4)}`);

// Or fold it into the weights, and back out.
set.detach();
mergeAdapter(model, adapter);
const merged = model.logits([[256, 105, 109]]).arraySync()[0]![2]![0];
unmergeAdapter(model, adapter);
console.log(`merged ${merged?.toFixed(4)} (equals the adapter's)`);
await rm(directory, { recursive: true });
