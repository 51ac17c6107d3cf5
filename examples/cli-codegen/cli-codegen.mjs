// Doc-grounded generation through the `codestack` CLI, exactly as a user runs it:
//   codestack docs index @types/node --out DIR
//   codestack generate "<task>" --docs DIR --model DIR --tests FILE --repair-rounds N --json
// The model: CODESTACK_MODEL_DIR (a checkpoint directory), or OPENAI_BASE_URL (+ OPENAI_API_KEY,
// OPENAI_MODEL) for any OpenAI-compatible server. With neither, a small randomly initialised
// checkpoint is made so the pipeline runs end to end; its code is noise and fails validation.
import { spawnSync } from 'node:child_process';
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime, LlamaModel, saveModel } from '@codestack/runtime';
import { createCompactVocabulary, getTokenizer, saveCompactVocabulary } from '@codestack/tokenizer';

const here = dirname(fileURLToPath(import.meta.url));
const cache = join(here, '..', '..', '.cache');
const bin = createRequire(import.meta.url).resolve('@codestack/orchestrator/package.json').replace(/package\.json$/, 'dist/cli.js');
const codestack = (args) => {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return { status: result.status, stdout: result.stdout };
};

const docs = join(cache, 'docs', 'types-node');
if (!existsSync(join(docs, 'manifest.json'))) assert.equal(codestack(['docs', 'index', '@types/node', '--out', docs]).status, 0);

let modelArguments;
if (process.env.OPENAI_BASE_URL) {
  modelArguments = ['--base-url', process.env.OPENAI_BASE_URL, '--model-name', process.env.OPENAI_MODEL ?? 'gpt-4o-mini'];
  if (process.env.OPENAI_API_KEY) modelArguments.push('--api-key', process.env.OPENAI_API_KEY);
} else if (process.env.CODESTACK_MODEL_DIR) {
  modelArguments = ['--model', process.env.CODESTACK_MODEL_DIR];
} else {
  const directory = join(cache, 'examples', 'random-model');
  if (!existsSync(join(directory, 'vocabulary.json'))) {
    const sample = 'export function clamp(value: number, low: number, high: number): number { return Math.min(high, Math.max(low, value)); }';
    const vocabulary = await createCompactVocabulary({ baseEncoding: 'cl100k_base', baseTokenIds: [...new Set(getTokenizer('cl100k_base').encode(sample))] });
    const runtime = await createRuntime();
    const model = LlamaModel.create(runtime, { vocabularySize: vocabulary.vocabularySize, hiddenSize: 64, layers: 2, attentionHeads: 4, keyValueHeads: 2, feedForwardSize: 128, maximumContext: 1024, ropeTheta: 10000, normEpsilon: 1e-5, tiedEmbeddings: true }, { seed: 1 });
    await saveModel(model, directory);
    await saveCompactVocabulary(vocabulary, join(directory, 'vocabulary.json'));
    model.dispose();
  }
  console.log('no CODESTACK_MODEL_DIR or OPENAI_BASE_URL: using a randomly initialised model (its code is noise)');
  modelArguments = ['--model', directory];
}

const task = 'Write a TypeScript function clamp(value, low, high) that limits a number to the range [low, high].';
const run = codestack(['generate', task, '--docs', docs, ...modelArguments, '--tests', join(here, 'clamp.tests.js'), '--repair-rounds', '1', '--maximum-tokens', '48', '--json']);
const events = run.stdout.trim().split('\n').map((line) => JSON.parse(line));
for (const event of events) {
  if (event.type === 'retrieval') console.log(`retrieved: ${event.documents.map((document) => document.id).join(', ')}`);
  if (event.type === 'validation') console.log(`attempt ${event.attempt ?? event.index}: ${event.ok ? 'valid' : 'invalid'}`);
}
const result = events.at(-1);
console.log(`result: ok=${result.ok}, attempts=${result.attempts}, exit status ${run.status}`);

if (process.argv.includes('--check')) {
  // The pipeline ran: docs were retrieved, every attempt was validated, and the exit status says whether the code passed.
  assert.ok(events.some((event) => event.type === 'retrieval' && event.documents.length > 0));
  assert.equal(events.filter((event) => event.type === 'validation').length, result.attempts);
  assert.equal(run.status, result.ok ? 0 : 1);
}
