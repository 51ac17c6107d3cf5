/**
 * Benchmark: `npm run bench -w packages/runtime`. Prints one JSON object, then a one-line summary.
 * Measures matMul GFLOP/s, forward tokens/s, decode tokens/s with and without the KV cache at
 * contexts 64, 256 and 512, and training tokens/s, for a ~1M and a ~5M parameter model, plus
 * `kernelProfile`: per-kernel time tables (tf.profile) of one 1M training step and one cached
 * decode step at context 256 (see bench/kernel-profile.bench.ts). `--profile` prints only those.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, type BackendRequest, type Runtime } from './backend/runtime.js';
import { LlamaModel } from './model/llama-model.js';
import { parameterCount, type ModelConfig } from './model/model-config.js';
import { SeededRandom } from './random/seeded-random.js';
import { writeTokenShard } from './data/token-shards.js';
import { PackedDataset } from './data/packed-dataset.js';
import { Trainer } from './training/trainer.js';
import { kernelProfile, kernelProfileSummary, type KernelProfile } from './bench/kernel-profile.bench.js';

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

/** Wall-clock and process CPU time (all threads) since a start mark. */
interface Mark {
  wall: number;
  cpu: NodeJS.CpuUsage;
}

function mark(): Mark {
  return { wall: performance.now(), cpu: process.cpuUsage() };
}

/** A rate measured both ways: per wall second, and per CPU second of this process (load-insensitive). */
interface Rate {
  wall: number;
  cpu: number;
}

function rate(units: number, start: Mark): Rate {
  const wallSeconds = (performance.now() - start.wall) / 1000;
  const usage = process.cpuUsage(start.cpu);
  const cpuSeconds = (usage.user + usage.system) / 1e6;
  return { wall: Number((units / wallSeconds).toFixed(1)), cpu: Number((units / cpuSeconds).toFixed(1)) };
}

function matMulGflops(runtime: Runtime): Rate {
  const { tf } = runtime;
  const size = 512;
  const a = tf.randomNormal([size, size]);
  const b = tf.randomNormal([size, size]);
  for (let index = 0; index < 3; index++) tf.matMul(a, b).dispose();
  const repeats = 20;
  const start = mark();
  for (let index = 0; index < repeats; index++) {
    const product = tf.matMul(a, b);
    product.dataSync();
    product.dispose();
  }
  const result = rate((2 * size ** 3 * repeats) / 1e9, start);
  a.dispose();
  b.dispose();
  return result;
}

function randomIds(random: SeededRandom, length: number, vocabulary: number): number[] {
  return Array.from({ length }, () => random.nextInt(vocabulary));
}

function forwardTokensPerSecond(model: LlamaModel, random: SeededRandom): Rate {
  const batch = 8;
  const length = 128;
  const ids = Array.from({ length: batch }, () => randomIds(random, length, model.config.vocabularySize));
  model.logits(ids).dispose();
  const repeats = 3;
  const start = mark();
  for (let index = 0; index < repeats; index++) {
    const logits = model.logits(ids);
    logits.dataSync();
    logits.dispose();
  }
  return rate(batch * length * repeats, start);
}

/** Decode rates: wall, per CPU-second, and from the fastest tenth of the steps (what a core does when not preempted). */
interface DecodeRate extends Rate {
  bestDecile: number;
}

async function decodeTokensPerSecond(model: LlamaModel, random: SeededRandom, context: number, useCache: boolean): Promise<DecodeRate> {
  const prompt = randomIds(random, context, model.config.vocabularySize);
  const steps = useCache ? 64 : 4;
  const cache = useCache ? model.createCache(1) : undefined;
  const ids = [...prompt];
  const step = async (): Promise<void> => {
    const next = random.nextInt(model.config.vocabularySize);
    ids.push(next);
    const logits = cache === undefined ? model.logits([ids], undefined, { lastPositionOnly: true }) : model.logits([[next]], cache);
    await logits.data();
    logits.dispose();
  };
  model.logits([prompt], cache, { lastPositionOnly: true }).dispose();
  for (let warm = 0; warm < (useCache ? 8 : 1); warm++) await step();
  const durations: number[] = [];
  const start = mark();
  for (let index = 0; index < steps; index++) {
    const begin = performance.now();
    await step();
    durations.push(performance.now() - begin);
  }
  const result = rate(steps, start);
  cache?.dispose();
  durations.sort((left, right) => left - right);
  const decile = durations[Math.floor(durations.length / 10)] as number;
  return { ...result, bestDecile: Number((1000 / decile).toFixed(1)) };
}

async function trainingTokensPerSecond(model: LlamaModel, random: SeededRandom, directory: string, workers: number): Promise<{ tokensPerSecond: Rate; batchSize: number; sequenceLength: number }> {
  await writeTokenShard(join(directory, 'train.tokens'), randomIds(random, 200_000, model.config.vocabularySize));
  const data = await PackedDataset.open(directory);
  const batchSize = 8;
  const sequenceLength = 128;
  const trainer = new Trainer({ model, data, batchSize, sequenceLength, workers, schedule: { peakLearningRate: 1e-3, warmupSteps: 2, totalSteps: 100 } });
  await trainer.trainStep();
  const steps = 5;
  const start = mark();
  let tokens = 0;
  for (let step = 0; step < steps; step++) tokens += (await trainer.trainStep()).tokens;
  const tokensPerSecond = rate(tokens, start);
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
    matMulGflops: matMulGflops(runtime),
    models: {} as Record<string, unknown>,
  };
  const only = process.env.CODESTACK_BENCH_MODELS?.split(',');
  for (const [name, config] of Object.entries(referenceConfigs)) {
    if (only !== undefined && !only.includes(name)) continue;
    const model = LlamaModel.create(runtime, config, { seed: 1 });
    const decode: Record<string, { cached: DecodeRate; uncached: DecodeRate }> = {};
    for (const context of [64, 256, 512]) {
      decode[context] = {
        cached: await decodeTokensPerSecond(model, random, context, true),
        uncached: await decodeTokensPerSecond(model, random, context, false),
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
      forwardTokensPerSecond: forwardTokensPerSecond(model, random),
      decodeTokensPerSecond: decode,
      trainingTokensPerSecond: training.tokensPerSecond,
      // cpu here is per CPU-second summed over both threads
      trainingTokensPerSecondTwoWorkers: trainingParallel.tokensPerSecond,
      trainingBatch: `${training.batchSize}x${training.sequenceLength}`,
    };
    model.dispose();
  }
  // A few seconds: one warm-up and one profiled training step, a short decode warm-up.
  const profile = await kernelProfile(runtime, '1M', referenceConfigs['1M'] as ModelConfig);
  results.kernelProfile = profile;
  results.loadAverageAfter = loadavg().map((value) => Number(value.toFixed(2)));
  console.log(JSON.stringify(results, null, 2));
  const models = results.models as Record<
    string,
    { parameters: number; forwardTokensPerSecond: Rate; trainingTokensPerSecond: Rate; trainingTokensPerSecondTwoWorkers: Rate; decodeTokensPerSecond: Record<string, { cached: DecodeRate; uncached: DecodeRate }> }
  >;
  const both = (value: Rate): string => `${Math.round(value.wall)}/${Math.round(value.cpu)}`;
  const summary = Object.entries(models)
    .map(([name, model]) => {
      const decode = Object.entries(model.decodeTokensPerSecond)
        .map(([context, value]) => `${context}:${both(value.cached)} (best decile ${Math.round(value.cached.bestDecile)}) nocache ${both(value.uncached)}`)
        .join(', ');
      return `${name} (${(model.parameters / 1e6).toFixed(2)}M): train ${both(model.trainingTokensPerSecond)} (2 threads wall ${Math.round(model.trainingTokensPerSecondTwoWorkers.wall)}), forward ${both(model.forwardTokensPerSecond)}, decode ${decode}`;
    })
    .join('; ');
  const matMul = results.matMulGflops as Rate;
  console.log(
    `runtime bench, ${runtime.backend} (${runtime.device}), load ${(results.loadAverage as number[]).join(' ')}, tokens/s as wall/per-CPU-second: matMul ${matMul.wall}/${matMul.cpu} GFLOP/s; ${summary}`,
  );
  console.log(kernelProfileSummary(results.kernelProfile as KernelProfile));
}

/** `--profile`: only the per-kernel tables (a few seconds). */
async function profileOnly(): Promise<void> {
  const backend = (process.env.CODESTACK_BACKEND ?? 'wasm') as BackendRequest;
  const runtime = await createRuntime({ backend });
  const loadAverage = loadavg().map((value) => Number(value.toFixed(2)));
  const profile = await kernelProfile(runtime, '1M', referenceConfigs['1M'] as ModelConfig);
  const loadAverageAfter = loadavg().map((value) => Number(value.toFixed(2)));
  console.log(JSON.stringify({ backend: runtime.backend, device: runtime.device, loadAverage, kernelProfile: profile, loadAverageAfter }, null, 2));
  console.log(`runtime bench --profile, ${runtime.backend} (${runtime.device}), load ${loadAverage.join(' ')}`);
  console.log(kernelProfileSummary(profile));
}

if (process.argv.includes('--hugging-face')) {
  // Bring-your-own-model measurements (slow: a 1 GB checkpoint); see hugging-face.bench.ts.
  const { runHuggingFaceBench } = await import('./hugging-face.bench.js');
  await runHuggingFaceBench(process.argv.slice(2));
} else if (process.argv.includes('--profile')) await profileOnly();
else await main();
