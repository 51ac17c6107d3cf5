/**
 * Benchmark: LoRA and IA3 adapters against full fine-tuning of the same small model, on real code.
 *
 * 1. A byte-level model (UTF-8 bytes + BOS/EOS, vocabulary 260) is pre-trained briefly on lodash
 *    sources from node_modules (general JavaScript).
 * 2. The "domain" is rxjs's TypeScript operator sources, split into train/held-out by file.
 * 3. Each method runs the same number of steps on the domain train split, in its own child
 *    process so that resident memory is measured per method, and is evaluated on the held-out
 *    files (loss, perplexity, bits per byte).
 *
 * Throughput is also measured interleaved in one process (best of three short rounds per method),
 * which is fairer than the per-process figures on a machine shared with other work.
 *
 * Prints one JSON object, then a one-line summary. `--quick` runs fewer steps.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LlamaModel, createRuntime, loadModel, parameterCount, saveModel, type ModelConfig, type Runtime } from '@codestack/runtime';
import { Adapter } from './adapter.js';
import type { AdapterConfig } from './adapter-config.js';
import { adapterFileSize, saveAdapter } from './adapter-files.js';
import { evaluatePerplexity, type PerplexityResult } from './evaluate-perplexity.js';
import { trainAdapter } from './train-adapter.js';
import { runTraining, type TrainingOptions, type TrainingResult } from './run-training.js';

const beginOfText = 256;
const endOfText = 257;
const quick = process.argv.includes('--quick');

const modelConfig: ModelConfig = {
  vocabularySize: 260,
  hiddenSize: 64,
  layers: 4,
  attentionHeads: 4,
  keyValueHeads: 2,
  feedForwardSize: 192,
  maximumContext: 128,
  ropeTheta: 10000,
  normEpsilon: 1e-5,
  tiedEmbeddings: false,
};

const settings = {
  pretrainSteps: quick ? 20 : 200,
  domainSteps: quick ? 10 : 80,
  batchSize: 8,
  sequenceLength: 64,
  heldOutBytes: quick ? 8_000 : 24_000,
};

type Method = 'lora' | 'ia3' | 'full';

const adapterConfigs: Record<Exclude<Method, 'full'>, AdapterConfig> = {
  lora: { method: 'lora', r: 8, alpha: 16, dropout: 0.05, targetModules: 'all-linear', layers: 'middle', baseModelName: 'bench-byte-llama' },
  ia3: { method: 'ia3', targetModules: ['k_proj', 'v_proj', 'down_proj'], layers: 'middle', baseModelName: 'bench-byte-llama' },
};
const learningRates: Record<Method, number> = { lora: 5e-3, ia3: 1e-2, full: 1e-3 };

interface Corpus {
  sequences: number[][];
  bytes: number;
  files: number;
}

function encode(text: string): number[] {
  return [beginOfText, ...new TextEncoder().encode(text), endOfText];
}

async function packageDirectory(name: string): Promise<string> {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve(`${name}/package.json`));
}

async function readCorpus(directory: string, extension: string, filter: (index: number) => boolean, maximumBytes: number): Promise<Corpus> {
  const names = (await readdir(directory)).filter((name) => name.endsWith(extension)).sort();
  const sequences: number[][] = [];
  let bytes = 0;
  let files = 0;
  for (const [index, name] of names.entries()) {
    if (!filter(index)) continue;
    const text = await readFile(join(directory, name), 'utf8');
    const size = Buffer.byteLength(text);
    if (bytes + size > maximumBytes) continue;
    sequences.push(encode(text));
    bytes += size;
    files++;
  }
  return { sequences, bytes, files };
}

async function corpora(): Promise<{ general: Corpus; domainTrain: Corpus; domainHeldOut: Corpus }> {
  const lodash = await packageDirectory('lodash');
  const operators = join(await packageDirectory('rxjs'), 'src', 'internal', 'operators');
  return {
    general: await readCorpus(lodash, '.js', () => true, 400_000),
    // Every fifth rxjs operator file is held out; the model never trains on them.
    domainTrain: await readCorpus(operators, '.ts', (index) => index % 5 !== 0, 400_000),
    domainHeldOut: await readCorpus(operators, '.ts', (index) => index % 5 === 0, settings.heldOutBytes),
  };
}

function trainingOptions(data: Corpus, steps: number, learningRate: number): TrainingOptions {
  return {
    data: { sequences: data.sequences },
    steps,
    batchSize: settings.batchSize,
    sequenceLength: settings.sequenceLength,
    learningRate,
    warmupSteps: Math.max(1, Math.round(steps / 10)),
    weightDecay: 0,
    seed: 1,
    silent: true,
  };
}

async function heldOut(model: LlamaModel, corpus: Corpus, adapter?: Adapter): Promise<PerplexityResult> {
  return evaluatePerplexity({
    model,
    ...(adapter === undefined ? {} : { adapter }),
    data: { sequences: corpus.sequences },
    byteCount: corpus.bytes,
    sequenceLength: settings.sequenceLength,
    batchSize: 16,
  });
}

interface MethodReport {
  method: Method;
  trainableParameters: number;
  trainableShare: number;
  steps: number;
  firstLoss: number;
  finalTrainingLoss: number;
  heldOut: PerplexityResult;
  tokensPerSecond: number;
  trainingSeconds: number;
  peakTensorBytes: number;
  peakResidentBytes: number;
  adapterFileBytes?: number;
}

/** One method, in a child process: load the pre-trained base, train on the domain, evaluate. */
async function runPhase(method: Method, baseDirectory: string): Promise<MethodReport> {
  const runtime = await createRuntime({ backend: 'wasm' });
  const model = await loadModel(runtime, baseDirectory);
  const { domainTrain, domainHeldOut } = await corpora();
  const options = trainingOptions(domainTrain, settings.domainSteps, learningRates[method]);
  let result: TrainingResult;
  let adapter: Adapter | undefined;
  let adapterFileBytes: number | undefined;
  if (method === 'full') {
    result = await runTraining(model, undefined, options, 'full-fine-tune');
  } else {
    adapter = Adapter.create(model, adapterConfigs[method], { seed: 1, name: method });
    result = await trainAdapter({ ...options, model, adapter });
    const directory = join(baseDirectory, `adapter-${method}`);
    await saveAdapter(adapter, model, directory);
    adapterFileBytes = await adapterFileSize(directory);
  }
  const evaluation = await heldOut(model, domainHeldOut, adapter);
  const total = parameterCount(model.config);
  return {
    method,
    trainableParameters: result.trainableParameters,
    trainableShare: method === 'full' ? 1 : result.trainableParameters / (total + result.trainableParameters),
    steps: result.steps,
    firstLoss: result.losses[0] ?? Number.NaN,
    finalTrainingLoss: result.finalLoss,
    heldOut: evaluation,
    tokensPerSecond: result.tokensPerSecond,
    trainingSeconds: result.seconds,
    peakTensorBytes: result.peakTensorBytes,
    peakResidentBytes: process.resourceUsage().maxRSS * 1024,
    ...(adapterFileBytes === undefined ? {} : { adapterFileBytes }),
  };
}

function runChild(method: Method, baseDirectory: string): Promise<MethodReport> {
  return new Promise((resolve, reject) => {
    const file = fileURLToPath(import.meta.url);
    const child = spawn(process.execPath, ['--import', 'tsx', file, '--phase', method, baseDirectory, ...(quick ? ['--quick'] : [])], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`phase ${method} exited with ${code}`));
      else resolve(JSON.parse(output.trim().split('\n').pop() ?? '{}') as MethodReport);
    });
  });
}

async function pretrain(runtime: Runtime, directory: string): Promise<{ loss: number; seconds: number; heldOutBase: PerplexityResult; corpus: Record<string, { files: number; bytes: number }> }> {
  const { general, domainTrain, domainHeldOut } = await corpora();
  const model = LlamaModel.create(runtime, modelConfig, { seed: 7 });
  const result = await runTraining(model, undefined, { ...trainingOptions(general, settings.pretrainSteps, 3e-3), weightDecay: 0.01 }, 'pretrain');
  await saveModel(model, directory);
  const heldOutBase = await heldOut(model, domainHeldOut);
  model.dispose();
  return {
    loss: result.finalLoss,
    seconds: result.seconds,
    heldOutBase,
    corpus: {
      lodashPretraining: { files: general.files, bytes: general.bytes },
      rxjsTrain: { files: domainTrain.files, bytes: domainTrain.bytes },
      rxjsHeldOut: { files: domainHeldOut.files, bytes: domainHeldOut.bytes },
    },
  };
}

/**
 * Throughput measured interleaved in one process: rounds of a few steps per method, best round
 * kept, so that load from other processes on the machine affects every method alike.
 */
async function interleavedThroughput(runtime: Runtime, directory: string): Promise<Record<Method, number>> {
  const model = await loadModel(runtime, directory);
  const { domainTrain } = await corpora();
  const best: Record<Method, number> = { lora: 0, ia3: 0, full: 0 };
  for (let round = 0; round < 3; round++) {
    for (const method of ['lora', 'ia3', 'full'] as const) {
      const options = trainingOptions(domainTrain, quick ? 2 : 5, learningRates[method]);
      let result: TrainingResult;
      if (method === 'full') {
        result = await runTraining(model, undefined, options, 'throughput');
      } else {
        const adapter = Adapter.create(model, adapterConfigs[method], { seed: round });
        result = await trainAdapter({ ...options, model, adapter });
        adapter.dispose();
      }
      best[method] = Math.max(best[method], result.tokensPerSecond);
    }
  }
  model.dispose();
  return best;
}

function round(value: number, digits = 4): number {
  return Number(value.toPrecision(digits));
}

async function main(): Promise<void> {
  const phaseIndex = process.argv.indexOf('--phase');
  if (phaseIndex >= 0) {
    const report = await runPhase(process.argv[phaseIndex + 1] as Method, process.argv[phaseIndex + 2] as string);
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const runtime = await createRuntime({ backend: 'wasm' });
  const directory = await mkdtemp(join(tmpdir(), 'tuning-bench-'));
  try {
    const base = await pretrain(runtime, directory);
    const methods: MethodReport[] = [];
    for (const method of ['lora', 'ia3', 'full'] as const) methods.push(await runChild(method, directory));
    const throughput = await interleavedThroughput(runtime, directory);
    const byMethod = Object.fromEntries(methods.map((report) => [report.method, report])) as Record<Method, MethodReport>;
    const result = {
      benchmark: '@codestack/tuning adapters vs full fine-tuning',
      device: runtime.device,
      model: { ...modelConfig, parameters: parameterCount(modelConfig) },
      settings,
      corpus: base.corpus,
      pretraining: { steps: settings.pretrainSteps, finalLoss: round(base.loss), seconds: round(base.seconds) },
      heldOutBeforeDomainTraining: { loss: round(base.heldOutBase.loss), perplexity: round(base.heldOutBase.perplexity), bitsPerByte: round(base.heldOutBase.bitsPerByte ?? Number.NaN) },
      methods: methods.map((report) => ({
        method: report.method,
        trainableParameters: report.trainableParameters,
        trainableShare: round(report.trainableShare),
        adapterFileBytes: report.adapterFileBytes,
        steps: report.steps,
        firstTrainingLoss: round(report.firstLoss),
        finalTrainingLoss: round(report.finalTrainingLoss),
        heldOutLoss: round(report.heldOut.loss),
        heldOutPerplexity: round(report.heldOut.perplexity),
        heldOutBitsPerByte: round(report.heldOut.bitsPerByte ?? Number.NaN),
        tokensPerSecond: Math.round(report.tokensPerSecond),
        interleavedBestTokensPerSecond: Math.round(throughput[report.method]),
        trainingSeconds: round(report.trainingSeconds),
        peakTensorMegabytes: round(report.peakTensorBytes / 1e6),
        peakResidentMegabytes: round(report.peakResidentBytes / 1e6),
      })),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    const line = (method: Method): string => {
      const report = byMethod[method];
      return `${method} held-out ${round(report.heldOut.loss, 3)} (${round(report.heldOut.bitsPerByte ?? Number.NaN, 3)} bpb, ${round(report.trainableShare * 100, 3)}% trainable, ${Math.round(throughput[method])} tok/s, ${round(report.peakTensorBytes / 1e6, 3)} MB tensors)`;
    };
    process.stdout.write(
      `base held-out loss ${round(base.heldOutBase.loss, 3)} → ${line('lora')}; ${line('ia3')}; ${line('full')}; LoRA file ${byMethod.lora.adapterFileBytes} bytes; ${settings.domainSteps} steps each\n`,
    );
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

await main();
