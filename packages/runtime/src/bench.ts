/**
 * Benchmark: `npm run bench -w packages/runtime`. Prints one JSON object, then a one-line summary.
 * Measures matMul GFLOP/s, forward tokens/s, decode tokens/s with and without the KV cache at
 * contexts 64, 256 and 512, and training tokens/s, for a ~1M and a ~5M parameter model.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, type BackendRequest, type Runtime } from './runtime.js';
import { LlamaModel } from './llama-model.js';
import { parameterCount, type ModelConfig } from './model-config.js';
import { SeededRandom } from './seeded-random.js';
import { writeTokenShard } from './token-shards.js';
import { PackedDataset } from './packed-dataset.js';
import { Trainer } from './trainer.js';

const referenceConfigs: Record<string, ModelConfig> = {
  '1M': {
    vocabularySize: 512,
    hiddenSize: 128,
    layers: 4,
    attentionHeads: 4,
    keyValueHeads: 2,
    feedForwardSize: 448,
    maximumContext: 1024,
    ropeTheta: 10000,
    normEpsilon: 1e-5,
    tiedEmbeddings: true,
  },
  '5M': {
    vocabularySize: 2048,
    hiddenSize: 256,
    layers: 6,
    attentionHeads: 8,
    keyValueHeads: 4,
    feedForwardSize: 704,
    maximumContext: 1024,
    ropeTheta: 10000,
    normEpsilon: 1e-5,
    tiedEmbeddings: true,
  },
};

function seconds(start: number): number {
  return (performance.now() - start) / 1000;
}

function matMulGflops(runtime: Runtime): number {
  const { tf } = runtime;
  const size = 512;
  const a = tf.randomNormal([size, size]);
  const b = tf.randomNormal([size, size]);
  for (let index = 0; index < 3; index++) tf.matMul(a, b).dispose();
  const repeats = 20;
  const start = performance.now();
  for (let index = 0; index < repeats; index++) {
    const product = tf.matMul(a, b);
    product.dataSync();
    product.dispose();
  }
  const elapsed = seconds(start);
  a.dispose();
  b.dispose();
  return (2 * size ** 3 * repeats) / elapsed / 1e9;
}

function randomIds(random: SeededRandom, length: number, vocabulary: number): number[] {
  return Array.from({ length }, () => random.nextInt(vocabulary));
}

function forwardTokensPerSecond(model: LlamaModel, random: SeededRandom): number {
  const batch = 8;
  const length = 128;
  const ids = Array.from({ length: batch }, () => randomIds(random, length, model.config.vocabularySize));
  model.logits(ids).dispose();
  const repeats = 3;
  const start = performance.now();
  for (let index = 0; index < repeats; index++) {
    const logits = model.logits(ids);
    logits.dataSync();
    logits.dispose();
  }
  return (batch * length * repeats) / seconds(start);
}

async function decodeTokensPerSecond(model: LlamaModel, random: SeededRandom, context: number, useCache: boolean): Promise<number> {
  const prompt = randomIds(random, context, model.config.vocabularySize);
  const steps = useCache ? 32 : 4;
  if (useCache) {
    const cache = model.createCache(1);
    model.logits([prompt], cache, { lastPositionOnly: true }).dispose();
    // warm-up step, then timed steps
    const warm = model.logits([[1]], cache);
    await warm.data();
    warm.dispose();
    const start = performance.now();
    for (let step = 0; step < steps; step++) {
      const logits = model.logits([[random.nextInt(model.config.vocabularySize)]], cache);
      await logits.data();
      logits.dispose();
    }
    const rate = steps / seconds(start);
    cache.dispose();
    return rate;
  }
  const ids = [...prompt];
  model.logits([ids], undefined, { lastPositionOnly: true }).dispose();
  const start = performance.now();
  for (let step = 0; step < steps; step++) {
    ids.push(random.nextInt(model.config.vocabularySize));
    const logits = model.logits([ids], undefined, { lastPositionOnly: true });
    await logits.data();
    logits.dispose();
  }
  return steps / seconds(start);
}

async function trainingTokensPerSecond(model: LlamaModel, random: SeededRandom, directory: string, workers: number): Promise<{ tokensPerSecond: number; batchSize: number; sequenceLength: number }> {
  await writeTokenShard(join(directory, 'train.tokens'), randomIds(random, 200_000, model.config.vocabularySize));
  const data = await PackedDataset.open(directory);
  const batchSize = 8;
  const sequenceLength = 128;
  const trainer = new Trainer({ model, data, batchSize, sequenceLength, workers, schedule: { peakLearningRate: 1e-3, warmupSteps: 2, totalSteps: 100 } });
  await trainer.trainStep();
  const steps = 5;
  const start = performance.now();
  let tokens = 0;
  for (let step = 0; step < steps; step++) tokens += (await trainer.trainStep()).tokens;
  const tokensPerSecond = tokens / seconds(start);
  trainer.dispose();
  return { tokensPerSecond, batchSize, sequenceLength };
}

async function main(): Promise<void> {
  const backend = (process.env.CODESTACK_BACKEND ?? 'wasm') as BackendRequest;
  const runtime = await createRuntime({ backend });
  const random = new SeededRandom(1);
  const results: Record<string, unknown> = {
    backend: runtime.backend,
    device: runtime.device,
    loadAverage: loadavg().map((value) => Number(value.toFixed(2))),
    matMulGflops: Number(matMulGflops(runtime).toFixed(2)),
    models: {} as Record<string, unknown>,
  };
  const only = process.env.CODESTACK_BENCH_MODELS?.split(',');
  for (const [name, config] of Object.entries(referenceConfigs)) {
    if (only !== undefined && !only.includes(name)) continue;
    const model = LlamaModel.create(runtime, config, { seed: 1 });
    const decode: Record<string, { cached: number; uncached: number }> = {};
    for (const context of [64, 256, 512]) {
      decode[context] = {
        cached: Number((await decodeTokensPerSecond(model, random, context, true)).toFixed(1)),
        uncached: Number((await decodeTokensPerSecond(model, random, context, false)).toFixed(1)),
      };
    }
    const directory = await mkdtemp(join(tmpdir(), 'runtime-bench-'));
    let training;
    let trainingParallel;
    try {
      training = await trainingTokensPerSecond(model, random, directory, 1);
      trainingParallel = await trainingTokensPerSecond(model, random, directory, 2);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
    (results.models as Record<string, unknown>)[name] = {
      parameters: parameterCount(config),
      forwardTokensPerSecond: Math.round(forwardTokensPerSecond(model, random)),
      decodeTokensPerSecond: decode,
      trainingTokensPerSecond: Math.round(training.tokensPerSecond),
      trainingTokensPerSecondTwoWorkers: Math.round(trainingParallel.tokensPerSecond),
      trainingBatch: `${training.batchSize}x${training.sequenceLength}`,
    };
    model.dispose();
  }
  results.loadAverageAfter = loadavg().map((value) => Number(value.toFixed(2)));
  console.log(JSON.stringify(results, null, 2));
  const models = results.models as Record<string, { parameters: number; forwardTokensPerSecond: number; trainingTokensPerSecond: number; trainingTokensPerSecondTwoWorkers: number; decodeTokensPerSecond: Record<string, { cached: number; uncached: number }> }>;
  const summary = Object.entries(models)
    .map(([name, model]) => {
      const decode = Object.entries(model.decodeTokensPerSecond).map(([context, rate]) => `${context}:${rate.cached}/${rate.uncached}`).join(' ');
      return `${name} (${(model.parameters / 1e6).toFixed(2)}M): train ${model.trainingTokensPerSecond} tok/s (2 threads ${model.trainingTokensPerSecondTwoWorkers}), forward ${model.forwardTokensPerSecond} tok/s, decode cached/uncached ${decode} tok/s`;
    })
    .join('; ');
  console.log(`runtime bench on ${runtime.backend} (${runtime.device}), matMul ${results.matMulGflops as number} GFLOP/s, load ${(results.loadAverage as number[]).join(' ')}: ${summary}`);
}

await main();
