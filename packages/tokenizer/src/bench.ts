/**
 * Benchmark: `npm run bench -w packages/tokenizer`. Prints one JSON object, then a one-line summary.
 * Encode throughput on ≥ 4 MB of real code (TypeScript's compiler from node_modules) for this
 * package, raw gpt-tokenizer, tiktoken (WASM) and js-tiktoken; the overhead over raw
 * gpt-tokenizer; and the parallel corpus encoder's speed-up over one thread on ≥ 20 MB.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import rawEncoding from 'gpt-tokenizer/encoding/o200k_base';
import { getEncoding } from 'js-tiktoken';
import { get_encoding } from 'tiktoken';
import { buildCompactVocabulary } from './compact-vocabulary.js';
import { createCorpusEncoder } from './corpus-encoder.js';
import { getTokenizer } from './openai-tokenizer.js';

const encodingName = 'o200k_base';
const repetitions = Number(process.env.BENCH_REPETITIONS ?? 7);
// The codestack/gpt-tokenizer pairs are cheap (~0.5 s) and single pairs swing ±25% on a shared
// machine, so they get many more rounds than the slow contenders.
const pairedRounds = Math.max(repetitions, Number(process.env.BENCH_PAIRED_ROUNDS ?? 31));
const require = createRequire(import.meta.url);
const compiler = readFileSync(require.resolve('typescript/lib/typescript.js'), 'utf8');

// At least 4 MiB of real code, cut at a line break.
const sampleEnd = compiler.indexOf('\n', 4 * 1024 * 1024) + 1;
const sample = compiler.slice(0, sampleEnd);
const sampleMegabytes = Buffer.byteLength(sample) / 1e6;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function collectCorpusFiles(nodeModules: string, minimumBytes: number): string[] {
  const names = readdirSync(nodeModules, { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.(m?js|cjs|ts)$/.test(name) && !/ranks|encoders|\.min\./i.test(name))
    .sort();
  const files: string[] = [];
  let bytes = 0;
  for (const name of names) {
    const file = join(nodeModules, name);
    const size = statSync(file, { throwIfNoEntry: false });
    if (size === undefined || !size.isFile() || size.size < 1024 || size.size > 2e6) continue;
    files.push(file);
    bytes += size.size;
    if (bytes >= minimumBytes) break;
  }
  return files;
}

async function timeAsync(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return (performance.now() - start) / 1000;
}

function time(run: () => unknown): number {
  const start = performance.now();
  run();
  return (performance.now() - start) / 1000;
}

const ours = getTokenizer(encodingName);
const tiktoken = get_encoding(encodingName);
const jsTiktoken = getEncoding(encodingName);
const plainTextOptions = { disallowedSpecial: new Set<string>() };
const contenders: Record<string, () => number> = {
  codestack: () => ours.encode(sample).length,
  // The same options the package passes (special-token strings as plain text, so no scan for
  // disallowed ones): the comparison isolates the wrapper's own cost.
  gptTokenizer: () => rawEncoding.encode(sample, plainTextOptions).length,
  tiktoken: () => tiktoken.encode(sample, [], []).length,
  jsTiktoken: () => jsTiktoken.encode(sample, [], []).length,
};

// All produce the same tokens (checked once, outside timing).
const tokenCounts = Object.fromEntries(Object.entries(contenders).map(([name, run]) => [name, run()]));
const tokenCount = tokenCounts.codestack as number;
for (const [name, count] of Object.entries(tokenCounts)) {
  if (count !== tokenCount) throw new Error(`${name} produced ${count} tokens, codestack ${tokenCount}`);
}

// Warm up, then interleave the contenders round by round so that load changes hit all alike.
const seconds: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
for (const run of Object.values(contenders)) run();
// The overhead over raw gpt-tokenizer is the median of paired ratios: in each round the two run
// back to back (in alternating order), so load that changes between rounds cancels out.
const pairedRatios: number[] = [];
for (let round = 0; round < pairedRounds; round++) {
  for (const [name, run] of Object.entries(contenders)) {
    if (name === 'codestack' || name === 'gptTokenizer' || round >= repetitions) continue;
    seconds[name]?.push(time(run));
  }
  const order = round % 2 === 0 ? (['codestack', 'gptTokenizer'] as const) : (['gptTokenizer', 'codestack'] as const);
  const pair: Record<string, number> = {};
  for (const name of order) {
    pair[name] = time(contenders[name] as () => number);
    seconds[name]?.push(pair[name] as number);
  }
  pairedRatios.push((pair.codestack as number) / (pair.gptTokenizer as number));
}
tiktoken.free();
const throughput = Object.fromEntries(
  Object.entries(seconds).map(([name, values]) => [name, Number((sampleMegabytes / median(values)).toFixed(2))]),
);
const overheadPercent = Number(((median(pairedRatios) - 1) * 100).toFixed(2));

// Parallel corpus encoder: ≥ 20 MB of distinct real code (the .js/.ts files of node_modules in path
// order, skipping BPE rank tables and minified files), one thread vs the worker pool.
const corpusFiles = collectCorpusFiles(resolve(dirname(require.resolve('typescript/package.json')), '..'), 24e6);
const corpus = corpusFiles.map((file) => readFileSync(file, 'utf8')).join('\n');
const corpusMegabytes = Buffer.byteLength(corpus) / 1e6;
const workers = Math.min(2, availableParallelism());
const parallelRepetitions = Number(process.env.BENCH_PARALLEL_REPETITIONS ?? 5);
const pool = createCorpusEncoder({ encoding: encodingName, workers });
const coldStart = performance.now();
await pool.encodeText(corpus);
const coldSeconds = (performance.now() - coldStart) / 1000;
const singleSeconds: number[] = [];
const parallelSeconds: number[] = [];
const speedUps: number[] = [];
for (let round = 0; round < parallelRepetitions; round++) {
  // Paired and in alternating order, like the overhead above.
  const poolFirst = round % 2 === 1;
  let poolSeconds = 0;
  if (poolFirst) poolSeconds = await timeAsync(() => pool.encodeText(corpus));
  const oneThread = time(() => ours.encode(corpus));
  if (!poolFirst) poolSeconds = await timeAsync(() => pool.encodeText(corpus));
  singleSeconds.push(oneThread);
  parallelSeconds.push(poolSeconds);
  speedUps.push(oneThread / poolSeconds);
}
await pool.close();
const singleMedian = median(singleSeconds);

// Building a compact vocabulary over the same corpus (worker start included).
const buildStart = performance.now();
const vocabulary = await buildCompactVocabulary({
  corpus: { texts: [corpus] },
  baseEncoding: encodingName,
  baseTokenCount: 8192,
  workers,
});
const buildSeconds = (performance.now() - buildStart) / 1000;
const vocabularySample = compiler.slice(0, 200_000);
const compactTokensPerCharacter = vocabulary.countTokens(vocabularySample) / vocabularySample.length;
const parallelMedian = median(parallelSeconds);

const result = {
  benchmark: '@codestack/tokenizer encode',
  encoding: encodingName,
  node: process.version,
  cpu: cpus()[0]?.model,
  cores: availableParallelism(),
  loadAverageAtEnd: loadavg().map((value) => Number(value.toFixed(2))),
  encode: {
    input: 'typescript/lib/typescript.js (first 4 MiB, whole lines)',
    megabytes: Number(sampleMegabytes.toFixed(2)),
    tokens: tokenCount,
    repetitions,
    pairedRounds,
    medianMegabytesPerSecond: throughput,
    codestackOverheadOverGptTokenizerPercent: overheadPercent,
    pairedRatios: pairedRatios.map((ratio) => Number(ratio.toFixed(3))),
  },
  parallel: {
    input: `${corpusFiles.length} .js/.ts files from node_modules, joined`,
    megabytes: Number(corpusMegabytes.toFixed(2)),
    workers,
    repetitions: parallelRepetitions,
    oneThreadSeconds: Number(singleMedian.toFixed(3)),
    workerPoolSeconds: Number(parallelMedian.toFixed(3)),
    coldPoolSecondsIncludingWorkerStart: Number(coldSeconds.toFixed(3)),
    speedUp: Number(median(speedUps).toFixed(2)),
    pairedSpeedUps: speedUps.map((value) => Number(value.toFixed(2))),
    oneThreadMegabytesPerSecond: Number((corpusMegabytes / singleMedian).toFixed(2)),
    workerPoolMegabytesPerSecond: Number((corpusMegabytes / parallelMedian).toFixed(2)),
  },
  compactVocabulary: {
    corpusMegabytes: Number(corpusMegabytes.toFixed(2)),
    baseTokenCount: vocabulary.baseTokenIds.length,
    vocabularySize: vocabulary.vocabularySize,
    buildSeconds: Number(buildSeconds.toFixed(3)),
    tokensPerCharacter: Number(compactTokensPerCharacter.toFixed(4)),
    baseTokensPerCharacter: Number((ours.countTokens(vocabularySample) / vocabularySample.length).toFixed(4)),
  },
};
console.log(JSON.stringify(result, null, 2));
console.log(
  `encode ${result.encode.megabytes} MB of typescript.js: codestack ${throughput.codestack} MB/s, gpt-tokenizer ${throughput.gptTokenizer} MB/s ` +
    `(overhead ${overheadPercent}%), tiktoken ${throughput.tiktoken} MB/s, js-tiktoken ${throughput.jsTiktoken} MB/s; ` +
    `parallel ${result.parallel.megabytes} MB on ${workers} workers: ${result.parallel.speedUp}× one thread ` +
    `; compact vocabulary (${vocabulary.vocabularySize} ids) built from ${result.parallel.megabytes} MB in ${result.compactVocabulary.buildSeconds} s ` +
    `(load ${result.loadAverageAtEnd.join(' ')})`,
);
