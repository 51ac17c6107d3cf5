/**
 * Benchmark: `npm run bench -w packages/runtime`. Prints one JSON object, then a one-line summary.
 *
 * For the ~1M and ~5M configs of issue 15: training tokens/s (AdamW, batch 8 x 128) on one
 * wasm thread, on two (the threaded SIMD build), with two data-parallel workers, on one and two
 * threads with the matrix products on codestack's WebAssembly kernels instead of
 * @codestack/native-kernels (`CODESTACK_NATIVE_KERNELS=0`), and in two
 * separate one-thread processes at once (added up: the machine's ceiling for any two-way split,
 * which pays no synchronisation); cached decode
 * tokens/s at batch 1 at contexts 64, 256 and 512 on one and two threads, and on one thread with
 * tfjs-wasm's kernels alone (`kernels: 'tfjs'`, what codestack's own kernels replace); the same
 * runtime with relaxed SIMD switched on (`--experimental-wasm-relaxed-simd`: the kernels'
 * fused-multiply-add build and its GEMM, one thread and two data-parallel workers); and, when
 * `/usr/bin/python3` can import torch, the same with PyTorch eager on one and two threads
 * (scripts/reference-speed.py). Every measurement runs in a fresh process; the contenders
 * alternate (the order reverses every round) and the report gives medians of the rounds (3 by
 * default, `--rounds N`), per wall second and per CPU second. Then `kernelProfile`: per-kernel
 * time tables (tf.profile) of one 1M training step and one cached decode step at context 256 (see
 * bench/kernel-profile.bench.ts).
 *
 * `--quick`: the 1M config only, fewer steps. `--profile [--threads N] [--config 1M|5M]`: only the
 * kernel tables, of the 1M config unless told.
 * `--measure '<job>'`: one measurement (what the bench runs in each child process).
 * `CODESTACK_BENCH_MODELS=1M,5M` picks the configs; `CODESTACK_BACKEND` the backend.
 */
import { loadavg } from 'node:os';
import { InvalidArgumentError } from '@codestack/core';
import { createRuntime, type BackendRequest, type KernelChoice } from './backend/runtime.js';
import { parameterCount, type ModelConfig } from './model/model-config.js';
import { kernelProfile, kernelProfileSummary, type KernelProfile } from './bench/kernel-profile.bench.js';
import { decodeWarmUpSteps, referenceConfigs, trainingWarmUpSteps, runSpeedJob, type DecodeMeasurement, type Rate, type SpeedJob, type TrainingMeasurement } from './bench/speed-measurements.bench.js';
import { measureOurs, measurePyTorch, pyTorchAvailability } from './bench/measurement-processes.bench.js';
import { engineHasRelaxedSimd } from './kernels/wasm-kernels.js';

const contexts = [64, 256, 512];

function loadAverage(): number[] {
  return loadavg().map((value) => Number(value.toFixed(2)));
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function medianRate(rates: readonly Rate[]): Rate {
  return { wall: Number(median(rates.map((value) => value.wall)).toFixed(1)), cpu: Number(median(rates.map((value) => value.cpu)).toFixed(1)) };
}

/**
 * The training rate of processes that ran at once: their wall rates add up, and per CPU second
 * it is all their tokens over all their CPU time (each process trained the same tokens).
 */
function combinedTraining(measurements: readonly TrainingMeasurement[]): TrainingMeasurement {
  return {
    tokensPerSecond: {
      wall: measurements.reduce((total, measurement) => total + measurement.tokensPerSecond.wall, 0),
      cpu: measurements.length / measurements.reduce((total, measurement) => total + 1 / measurement.tokensPerSecond.cpu, 0),
    },
    device: `${measurements.length} processes at once: ${measurements[0]?.device ?? ''}`,
  };
}

function ratio(numerator: number, denominator: number): number {
  return Number((numerator / denominator).toFixed(2));
}

/** A contender: who measures, with how many threads (and data-parallel workers). */
interface Contender {
  name: string;
  library: 'ours' | 'pytorch';
  threads: number;
  workers: number;
  /** Ours only: which kernels (default codestack's own). */
  kernels?: KernelChoice;
  /** Ours only: run the process with relaxed SIMD switched on (Node 20 needs the V8 flag). */
  relaxedSimd?: boolean;
  /** Ours only, training only: `false` keeps the matrix products on the WebAssembly kernels (no @codestack/native-kernels). */
  nativeKernels?: false;
  /**
   * Training only: run this many identical processes at once and add their rates. Two one-thread
   * processes that share nothing are the most any two-way split of the work could reach on this
   * machine (its ceiling for threads or workers), since they pay no synchronisation at all. They
   * start together but time their steps apart, so where one runs on alone for a while the sum
   * overstates the ceiling a little.
   */
  processes?: number;
}

function optionValue(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const json = process.argv.includes('--json');
  const rounds = Number(optionValue('--rounds') ?? 3);
  const trainingSteps = quick ? 2 : 4;
  const warmUpSteps = quick ? 3 : trainingWarmUpSteps;
  // 256 tokens: 64 took 20-40 ms on the 1M config, where one scheduler hiccup moved a figure 2x.
  const decodeSteps = quick ? 24 : 256;
  const only = process.env.CODESTACK_BENCH_MODELS?.split(',') ?? (quick ? ['1M'] : Object.keys(referenceConfigs));
  const pytorch = pyTorchAvailability();
  const relaxedByDefault = engineHasRelaxedSimd();
  const contenders: Contender[] = [
    { name: 'threads1', library: 'ours', threads: 1, workers: 1 },
    { name: 'threads2', library: 'ours', threads: 2, workers: 1 },
    { name: 'workers2', library: 'ours', threads: 1, workers: 2 },
    // Training only: the matrix products on codestack's WebAssembly kernels, as before @codestack/native-kernels.
    { name: 'threads1WasmProducts', library: 'ours', threads: 1, workers: 1, nativeKernels: false },
    { name: 'threads2WasmProducts', library: 'ours', threads: 2, workers: 1, nativeKernels: false },
    // Training only: the machine's ceiling for two-way parallel work (see Contender.processes).
    { name: 'processes2', library: 'ours', threads: 1, workers: 1, processes: 2 },
    // Decode only: the same with tfjs-wasm's kernels alone, to show what codestack's own replace.
    { name: 'threads1TfjsKernels', library: 'ours', threads: 1, workers: 1, kernels: 'tfjs' },
    // With relaxed SIMD (the V8 flag on Node 20; default in newer V8): the fused-multiply-add build.
    // Where the engine ships relaxed SIMD (Node 22 and later) the defaults above already run it.
    ...(relaxedByDefault
      ? []
      : [
          { name: 'threads1RelaxedSimd', library: 'ours', threads: 1, workers: 1, relaxedSimd: true } as const,
          { name: 'workers2RelaxedSimd', library: 'ours', threads: 1, workers: 2, relaxedSimd: true } as const,
        ]),
    ...(pytorch.available
      ? [
          { name: 'threads1', library: 'pytorch', threads: 1, workers: 1 } as const,
          { name: 'threads2', library: 'pytorch', threads: 2, workers: 1 } as const,
        ]
      : []),
  ];
  const loadBefore = loadAverage();
  const training = new Map<string, Rate[]>();
  const decode = new Map<string, Record<string, Rate>[]>();
  const matMul = new Map<string, Rate[]>();
  const devices: Record<string, string> = {};
  const plan: Array<{ job: SpeedJob; contender: Contender }> = [];
  for (let round = 0; round < rounds; round++) {
    for (const model of only) {
      const order = round % 2 === 0 ? contenders : [...contenders].reverse();
      for (const contender of order.filter((entry) => entry.kernels === undefined)) plan.push({ contender, job: { kind: 'train', model, threads: contender.threads, workers: contender.workers, steps: trainingSteps, warmUpSteps } });
      // Data-parallel workers and the two-process ceiling do not apply to decoding.
      for (const contender of order.filter((entry) => entry.workers === 1 && entry.processes === undefined && entry.nativeKernels === undefined)) plan.push({ contender, job: { kind: 'decode', model, threads: contender.threads, contexts, steps: decodeSteps, kernels: contender.kernels } });
    }
  }
  const progress = process.stderr.isTTY && !json;
  for (const [index, { job, contender }] of plan.entries()) {
    if (progress) process.stderr.write(`\r\x1b[Kruntime bench ${index + 1}/${plan.length}: ${job.model} ${job.kind} ${contender.library} ${contender.name}`);
    const measureOne = (): Promise<TrainingMeasurement | DecodeMeasurement> =>
      contender.library === 'ours' ? measureOurs(job, undefined, { relaxedSimd: contender.relaxedSimd, nativeKernels: contender.nativeKernels }) : measurePyTorch(job);
    const measure = async (): Promise<TrainingMeasurement | DecodeMeasurement> =>
      contender.processes === undefined ? measureOne() : combinedTraining((await Promise.all(Array.from({ length: contender.processes }, measureOne))) as TrainingMeasurement[]);
    // One retry: on this shared machine another job may be rebuilding dist/ (which the data-parallel workers load).
    const measurement = await measure().catch(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5000));
      return measure();
    });
    const key = `${job.model}/${contender.library}/${contender.name}`;
    devices[`${contender.library}/${contender.name}`] = measurement.device;
    if (job.kind === 'train') training.set(key, [...(training.get(key) ?? []), (measurement as TrainingMeasurement).tokensPerSecond]);
    else {
      const result = measurement as DecodeMeasurement;
      decode.set(key, [...(decode.get(key) ?? []), result.decodeTokensPerSecond]);
      if (result.matMulGflops !== undefined) matMul.set(contender.name, [...(matMul.get(contender.name) ?? []), result.matMulGflops]);
    }
  }
  if (progress) process.stderr.write('\r\x1b[K');

  const models: Record<string, unknown> = {};
  const summaries: string[] = [];
  for (const model of only) {
    const config = referenceConfigs[model] as ModelConfig;
    const trainingOf = (library: string, name: string): Rate | undefined => {
      const samples = training.get(`${model}/${library}/${name}`);
      return samples === undefined ? undefined : medianRate(samples);
    };
    const decodeOf = (library: string, name: string, context: number): Rate | undefined => {
      const samples = decode.get(`${model}/${library}/${name}`);
      return samples === undefined ? undefined : medianRate(samples.map((sample) => sample[context] as Rate));
    };
    const ours = {
      threads1: trainingOf('ours', 'threads1')!,
      threads2: trainingOf('ours', 'threads2')!,
      workers2: trainingOf('ours', 'workers2')!,
    };
    const ceiling = trainingOf('ours', 'processes2')!;
    const wasmProducts = { threads1: trainingOf('ours', 'threads1WasmProducts')!, threads2: trainingOf('ours', 'threads2WasmProducts')! };
    const relaxed = relaxedByDefault ? undefined : { threads1: trainingOf('ours', 'threads1RelaxedSimd')!, workers2: trainingOf('ours', 'workers2RelaxedSimd')! };
    const theirs = pytorch.available ? { threads1: trainingOf('pytorch', 'threads1')!, threads2: trainingOf('pytorch', 'threads2')! } : undefined;
    const twoThreads = ratio(ours.threads2.wall, ours.threads1.wall);
    // The median of each round's own two-thread over one-thread rate: threads1 and threads2 are
    // neighbours in every round's order, so a change in the machine's load between rounds moves both.
    const oneThreadRounds = training.get(`${model}/ours/threads1`) as Rate[];
    const twoThreadsByRound = ratio(median((training.get(`${model}/ours/threads2`) as Rate[]).map((rate, round) => rate.wall / (oneThreadRounds[round] as Rate).wall)), 1);
    // Our best on this Node's defaults, and with relaxed SIMD switched on (reported apart).
    const oursBest = Math.max(ours.threads1.wall, ours.threads2.wall, ours.workers2.wall);
    const oursBestRelaxed = relaxed === undefined ? oursBest : Math.max(relaxed.threads1.wall, relaxed.workers2.wall);
    const theirsBest = theirs === undefined ? undefined : Math.max(theirs.threads1.wall, theirs.threads2.wall);
    const decodeRows: Record<string, unknown> = {};
    const decodeSummary: string[] = [];
    for (const context of contexts) {
      const row = { ours: { threads1: decodeOf('ours', 'threads1', context)!, threads2: decodeOf('ours', 'threads2', context)!, threads1TfjsKernels: decodeOf('ours', 'threads1TfjsKernels', context)!, threads1RelaxedSimd: decodeOf('ours', relaxedByDefault ? 'threads1' : 'threads1RelaxedSimd', context)! }, pytorch: pytorch.available ? { threads1: decodeOf('pytorch', 'threads1', context)!, threads2: decodeOf('pytorch', 'threads2', context)! } : undefined };
      const best = Math.max(row.ours.threads1.wall, row.ours.threads2.wall);
      const theirsDecodeBest = row.pytorch === undefined ? undefined : Math.max(row.pytorch.threads1.wall, row.pytorch.threads2.wall);
      decodeRows[context] = {
        ...row,
        ownKernelsOverTfjsKernels: ratio(row.ours.threads1.wall, row.ours.threads1TfjsKernels.wall),
        oursBestOverPyTorchBest: theirsDecodeBest === undefined ? undefined : ratio(best, theirsDecodeBest),
        relaxedSimdOverPyTorchBest: theirsDecodeBest === undefined ? undefined : ratio(row.ours.threads1RelaxedSimd.wall, theirsDecodeBest),
      };
      decodeSummary.push(
        `${context}: ${Math.round(row.ours.threads1.wall)}/${Math.round(row.ours.threads2.wall)} (tfjs kernels ${Math.round(row.ours.threads1TfjsKernels.wall)}${relaxedByDefault ? '' : `, relaxed SIMD ${Math.round(row.ours.threads1RelaxedSimd.wall)}`})` +
          (row.pytorch === undefined ? '' : ` vs ${Math.round(row.pytorch.threads1.wall)}/${Math.round(row.pytorch.threads2.wall)} (${ratio(best, theirsDecodeBest as number)}x)`),
      );
    }
    models[model] = {
      parameters: parameterCount(config),
      training: {
        batch: '8x128',
        ours: { ...ours, threads1RelaxedSimd: relaxed?.threads1, workers2RelaxedSimd: relaxed?.workers2 },
        relaxedSimdIsDefault: relaxedByDefault,
        pytorch: theirs,
        twoThreadsOverOne: twoThreads,
        twoThreadsOverOneByRound: twoThreadsByRound,
        twoThreadsOverOnePerCpuSecond: ratio(ours.threads2.cpu, ours.threads1.cpu),
        wasmProducts,
        nativeOverWasmProducts: { threads1: ratio(ours.threads1.wall, wasmProducts.threads1.wall), threads2: ratio(ours.threads2.wall, wasmProducts.threads2.wall) },
        twoProcesses: ceiling,
        twoProcessesOverOne: ratio(ceiling.wall, ours.threads1.wall),
        oursBestOverPyTorchBest: theirsBest === undefined ? undefined : ratio(oursBest, theirsBest),
        oursBestWithRelaxedSimdOverPyTorchBest: theirsBest === undefined ? undefined : ratio(oursBestRelaxed, theirsBest),
      },
      decodeTokensPerSecond: decodeRows,
      samples: {
        training: Object.fromEntries([...training].filter(([key]) => key.startsWith(`${model}/`))),
        decode: Object.fromEntries([...decode].filter(([key]) => key.startsWith(`${model}/`))),
      },
    };
    summaries.push(
      `${model} train ${Math.round(ours.threads1.wall)} 1t / ${Math.round(ours.threads2.wall)} 2t (${twoThreads}x; ${twoThreadsByRound}x by round) / ${Math.round(ours.workers2.wall)} 2 workers / ${Math.round(ceiling.wall)} in 2 separate processes (${ratio(ceiling.wall, ours.threads1.wall)}x, the two-way ceiling)` +
        `; WebAssembly products ${Math.round(wasmProducts.threads1.wall)} 1t / ${Math.round(wasmProducts.threads2.wall)} 2t` +
        (theirs === undefined ? '' : ` vs PyTorch ${Math.round(theirs.threads1.wall)} 1t / ${Math.round(theirs.threads2.wall)} 2t (best/best ${ratio(oursBest, theirsBest as number)}x)`) +
        (relaxed === undefined
          ? '; relaxed SIMD is this engine\'s default'
          : `; relaxed SIMD train ${Math.round(relaxed.threads1.wall)} 1t / ${Math.round(relaxed.workers2.wall)} 2 workers` + (theirs === undefined ? '' : ` (best/best ${ratio(oursBestRelaxed, theirsBest as number)}x)`)) +
        `; decode 1t/2t ${decodeSummary.join(', ')}`,
    );
  }
  const backend = (process.env.CODESTACK_BACKEND ?? 'wasm') as BackendRequest;
  const runtime = await createRuntime({ backend });
  // A few seconds: one warm-up and one profiled training step, a short decode warm-up (one thread).
  const profile = await kernelProfile(runtime, '1M', referenceConfigs['1M'] as ModelConfig);
  const results = {
    backend: runtime.backend,
    devices,
    pytorch: pytorch.available ? { version: pytorch.version, environment: `OPENBLAS_NUM_THREADS and OMP_NUM_THREADS = threads; OPENBLAS_L2_SIZE unset; ${pytorch.openBlasCore}` } : { skipped: pytorch.reason },
    method: `each measurement in a fresh process, contenders alternating (order reversed every round), medians of ${rounds} rounds; training ${trainingSteps} timed AdamW steps after ${warmUpSteps} untimed ones, decode ${decodeSteps} timed cached steps after 8 warm-up, each context after an untimed pass of ${decodeWarmUpSteps} steps over every context (ours and PyTorch's alike)`,
    quick,
    loadAverage: loadBefore,
    matMulGflops: Object.fromEntries([...matMul].map(([name, samples]) => [name, medianRate(samples)])),
    models,
    kernelProfile: profile,
    loadAverageAfter: loadAverage(),
  };
  runtime.dispose();
  console.log(JSON.stringify(results, null, 2));
  const pytorchNote = pytorch.available ? `PyTorch ${pytorch.version} (${pytorch.openBlasCore})` : `PyTorch skipped (${pytorch.reason})`;
  console.log(`runtime bench, ${results.backend}, load ${loadBefore.join(' ')} -> ${results.loadAverageAfter.join(' ')}, medians of ${rounds} alternating rounds, tokens/s per wall second, ${pytorchNote}: ${summaries.join('; ')}`);
  console.log(kernelProfileSummary(results.kernelProfile as KernelProfile));
}

/** `--profile [--threads N] [--config 1M|5M]`: only the per-kernel tables (a few seconds). */
async function profileOnly(): Promise<void> {
  const backend = (process.env.CODESTACK_BACKEND ?? 'wasm') as BackendRequest;
  const name = optionValue('--config') ?? '1M';
  const config: ModelConfig | undefined = referenceConfigs[name];
  if (config === undefined) throw new InvalidArgumentError({ argument: '--config', message: `expected one of ${Object.keys(referenceConfigs).join(', ')}, got '${name}'` });
  const runtime = await createRuntime({ backend, threads: Number(optionValue('--threads') ?? 1) });
  const loadAverage = loadavg().map((value) => Number(value.toFixed(2)));
  const profile = await kernelProfile(runtime, name, config);
  const loadAverageAfter = loadavg().map((value) => Number(value.toFixed(2)));
  console.log(JSON.stringify({ backend: runtime.backend, device: runtime.device, loadAverage, kernelProfile: profile, loadAverageAfter }, null, 2));
  console.log(`runtime bench --profile, ${runtime.backend} (${runtime.device}), load ${loadAverage.join(' ')}`);
  console.log(kernelProfileSummary(profile));
}

if (process.argv.includes('--measure')) {
  // A child process of the bench: one measurement, one JSON line.
  const job = JSON.parse(optionValue('--measure') ?? '') as SpeedJob;
  console.log(JSON.stringify(await runSpeedJob(job)));
} else if (process.argv.includes('--hugging-face')) {
  // Bring-your-own-model measurements (slow: a 1 GB checkpoint); see hugging-face.bench.ts.
  const { runHuggingFaceBench } = await import('./hugging-face.bench.js');
  await runHuggingFaceBench(process.argv.slice(2));
} else if (process.argv.includes('--profile')) await profileOnly();
else await main();
