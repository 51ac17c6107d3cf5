// Doc-grounded generation through the `codestack` CLI, exactly as a user runs it:
//   codestack docs index @types/node --out DIR
//   codestack generate "<task>" --docs DIR --model DIR --tests FILE --repair-rounds N --json
// The model: CODESTACK_MODEL_DIR (a checkpoint directory), or OPENAI_BASE_URL (+ OPENAI_API_KEY,
// OPENAI_MODEL) for any OpenAI-compatible server. With neither, the bundled 1M-parameter base
// model runs locally; its code rarely passes the tests, and the pipeline reports each attempt.
import { spawnSync } from 'node:child_process';
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cache = join(here, '..', '..', '.cache');
const bin = createRequire(import.meta.url).resolve('@codestack/cli/package.json').replace(/package\.json$/, 'dist/cli.js');
const codestack = (args) => {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return { status: result.status, stdout: result.stdout };
};

const docs = join(cache, 'docs', 'types-node');
if (!existsSync(join(docs, 'manifest.json'))) assert.equal(codestack(['docs', 'index', '@types/node', '--out', docs]).status, 0);

// No model options: the CLI uses OPENAI_BASE_URL (with OPENAI_API_KEY, OPENAI_MODEL) when it is set,
// and otherwise the bundled base model of @codestack/model-base. CODESTACK_MODEL_DIR picks a checkpoint.
const modelArguments = process.env.CODESTACK_MODEL_DIR ? ['--model', process.env.CODESTACK_MODEL_DIR] : [];
console.log(`model: ${process.env.CODESTACK_MODEL_DIR ?? (process.env.OPENAI_BASE_URL ? `${process.env.OPENAI_BASE_URL} (OPENAI_BASE_URL)` : 'the bundled base model')}`);

const task = 'Write a TypeScript function clamp(value, low, high) that limits a number to the range [low, high].';
const run = codestack(['generate', task, '--docs', docs, ...modelArguments, '--tests', join(here, 'clamp.tests.js'), '--repair-rounds', '1', '--maximum-tokens', '48', '--json']);
const events = run.stdout.trim().split('\n').map((line) => JSON.parse(line));
for (const event of events) {
  if (event.type === 'retrieval') {
    console.log(`retrieved: ${event.documents.map((document) => document.id).join(', ') || 'none'}`);
    for (const dropped of event.irrelevant ?? []) console.log(`  left out ${dropped.id}: ${dropped.reason}`);
  }
  if (event.type === 'validation') console.log(`attempt ${event.attempt}: ${event.report.ok ? 'valid' : 'invalid'}`);
}
const result = events.at(-1);
console.log(`result: ok=${result.ok}, attempts=${result.attempts}, exit status ${run.status}`);

if (process.argv.includes('--check')) {
  // The pipeline ran: docs were looked up (clamp needs no API, so each candidate is left out as irrelevant,
  // with its reason), every attempt was validated, and the exit status says whether the code passed.
  const retrieval = events.find((event) => event.type === 'retrieval');
  assert.ok(retrieval && retrieval.documents.length + retrieval.irrelevant.length > 0);
  assert.ok(retrieval.irrelevant.every((dropped) => typeof dropped.reason === 'string'));
  assert.equal(events.filter((event) => event.type === 'validation').length, result.attempts);
  assert.equal(run.status, result.ok ? 0 : 1);
}
