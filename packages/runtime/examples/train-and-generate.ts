// Train a tiny Llama-style model on a token shard, checkpoint it, reload it and generate.
// Run: npm run build -w packages/runtime && npx tsx packages/runtime/examples/train-and-generate.ts
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LlamaModel,
  PackedDataset,
  Trainer,
  createRuntime,
  generate,
  loadModel,
  parameterCount,
  saveModel,
  writeTokenShard,
  type ModelConfig,
} from '@codestack/runtime';

const runtime = await createRuntime({ backend: 'auto' });
console.log(`backend ${runtime.backend} on ${runtime.device}; skipped: ${runtime.skipped.map((s) => s.backend).join(', ') || 'none'}`);

// A byte-level "tokenizer": ids are char codes of printable ASCII.
const tokenizer = {
  encodingName: 'ascii',
  encode: (text: string) => [...text].map((c) => c.charCodeAt(0)),
  decode: (ids: readonly number[]) => String.fromCharCode(...ids),
  countTokens: (text: string) => text.length,
};

const config: ModelConfig = {
  vocabularySize: 128,
  hiddenSize: 64,
  layers: 2,
  attentionHeads: 4,
  keyValueHeads: 2,
  feedForwardSize: 192,
  maximumContext: 128,
  ropeTheta: 10000,
  normEpsilon: 1e-5,
  tiedEmbeddings: true,
};
const model = LlamaModel.create(runtime, config, { seed: 1 });
console.log(`parameters: ${parameterCount(config)}`);

const directory = await mkdtemp(join(tmpdir(), 'runtime-example-'));
try {
  const text = 'function add(a, b) { return a + b; }\n'.repeat(200);
  await mkdir(join(directory, 'shards'), { recursive: true });
  await writeTokenShard(join(directory, 'shards', '000.tokens'), tokenizer.encode(text));
  const data = await PackedDataset.open(join(directory, 'shards'), { vocabularySize: config.vocabularySize });
  const trainer = new Trainer({
    model,
    data,
    batchSize: 4,
    sequenceLength: 32,
    schedule: { peakLearningRate: 1e-2, warmupSteps: 10, totalSteps: 150 },
  });
  const summary = await trainer.train({ steps: 150, json: true, silent: true, checkpointDirectory: join(directory, 'checkpoint') });
  console.log(`trained ${summary.step} steps, loss ${summary.loss.toFixed(3)}, ${Math.round(summary.tokensPerSecond)} tokens/s`);
  trainer.dispose();

  await saveModel(model, join(directory, 'model'), { dtype: 'F16' });
  const reloaded = await loadModel(runtime, join(directory, 'model'));
  const [result] = await generate(reloaded, [tokenizer.encode('function add(a, b) {')], {
    maximumNewTokens: 40,
    tokenizer,
    stopSequences: ['\n'],
  });
  console.log(`generated: ${JSON.stringify(result!.text)} (${result!.finishReason})`);
  reloaded.dispose();
} finally {
  model.dispose();
  await rm(directory, { recursive: true, force: true });
}
