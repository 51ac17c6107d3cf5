// The README's main job: the codestack generation pipeline on the embedded default, through the
// real `codestack` CLI. With no model options it runs the bundled base model of
// @codestack/model-base on the local runtime (the wasm backend on a machine without TensorFlow's
// native builds); with OPENAI_BASE_URL (and OPENAI_API_KEY, OPENAI_MODEL) set, the same commands
// use that remote model instead.
// 1. Index the real @types/node declarations once (cached in .cache/docs/types-node).
// 2. Complete code with retrieved API docs in the prompt (`codestack complete --docs`).
// 3. Complete the member after `fs` with and without the continuous cache (`--cache`): the file's own
//    text before the cursor becomes a small kNN datastore, and an earlier `fs.` line of the file
//    (the evidence, printed) changes the bundled model's answer: with the current model to the
//    `fs.mkdirSync` call of line 7, not the `fs.copyFileSync` the line needs. Local model only.
// 4. Generate a function from a task: retrieve, budget the prompt, generate, type-check, run the
//    tests in the sandbox and repair (`codestack generate`). A 1M-parameter model rarely passes;
//    the step reports what the pipeline did either way.
// 5. Validate a hand-written file the same way (`codestack check`).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runCli } from '@codestack/cli';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const index = join(root, '.cache', 'docs', 'types-node');
const context = { stdout: process.stdout, stderr: process.stderr, cwd: root, environment: process.env };
const remote = process.env.OPENAI_BASE_URL ? `the remote model at ${process.env.OPENAI_BASE_URL}` : 'the bundled base model';

function show(title, argv) {
  process.stdout.write(`\n$ codestack ${argv.map((part) => (/[\s"]/.test(part) ? JSON.stringify(part) : part)).join(' ')}   # ${title}\n`);
}

async function step(title, argv) {
  show(title, argv);
  const status = await runCli(argv, context);
  if (status !== 0) process.exit(status);
}

/** Runs the CLI with its stdout captured (for the commands whose --json output is read here). */
async function captured(argv, extraContext = {}) {
  let output = '';
  const stdout = new Writable({
    write(chunk, _encoding, callback) {
      output += chunk;
      callback();
    },
  });
  const status = await runCli(argv, { ...context, ...extraContext, stdout });
  return { status, output };
}

if (!existsSync(join(index, 'manifest.json'))) {
  await step('first run: index the real @types/node docs', ['docs', 'index', '@types/node', '--out', index]);
}
await step(`complete code with ${remote}, API docs in the prompt`, [
  'complete',
  '--file',
  join(here, 'read-json-file.ts'),
  '--line',
  '6',
  '--docs',
  index,
  '--maximum-tokens',
  '24',
]);

// The cursor sits after the last `fs` of backup-files.ts: the model has to write `.copyFileSync`.
if (!process.env.OPENAI_BASE_URL) {
  const file = join(here, 'backup-files.ts');
  const text = readFileSync(file, 'utf8');
  const cursor = text.lastIndexOf('fs.copyFileSync') + 'fs'.length;
  const prefix = text.slice(0, cursor);
  const answers = {};
  for (const cache of ['--no-cache', '--cache']) {
    const argv = ['complete', cache, '--maximum-tokens', '24', '--json'];
    show(`complete the member after \`fs\` at the end of backup-files.ts, ${cache === '--cache' ? 'with' : 'without'} the continuous cache`, [...argv, '<', 'backup-files.ts up to the cursor']);
    const { status, output } = await captured(argv, { stdin: Readable.from([prefix]) });
    if (status !== 0) process.exit(status);
    answers[cache] = JSON.parse(output).completion.split('\n')[0];
    process.stdout.write(`fs${answers[cache]}\n`);
  }
  const member = /^\.([\w$]+)/.exec(answers['--cache'])?.[1];
  const earlier = member === undefined ? [] : prefix.split('\n').flatMap((line, index) => (line.includes(`.${member}`) ? [`  line ${index + 1}: ${line.trim()}`] : []));
  process.stdout.write(
    earlier.length > 0 && answers['--cache'] !== answers['--no-cache']
      ? `the cache changed the answer; the text before the cursor it copied from:\n${earlier.join('\n')}\n`
      : 'the cache did not change the answer this time\n',
  );
}

// generate exits 1 when the final answer fails validation; the JSON events tell that apart from an error.
const task = 'Write a TypeScript function wordCount(text: string): number that counts the words in a text.';
const generateArguments = ['generate', task, '--docs', index, '--tests', join(here, 'word-count.tests.js'), '--repair-rounds', '1', '--json'];
show(`generate with ${remote}: retrieve, prompt, generate, validate, repair`, generateArguments);
const { status, output } = await captured(generateArguments);
const events = output.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
const result = events.find((event) => event.event === 'result');
if (result === undefined) process.exit(status || 1);
const retrieval = events.find((event) => event.type === 'retrieval');
const validations = events.filter((event) => event.type === 'validation');
const kept = retrieval?.documents.map((document) => document.id).join(', ') || 'none';
process.stdout.write(`retrieved: ${kept}${retrieval?.irrelevant?.length ? ` (${retrieval.irrelevant.length} left out as irrelevant to the task)` : ''}\n`);
for (const validation of validations) {
  const report = validation.report;
  process.stdout.write(`attempt ${validation.attempt}: ${report.ok ? 'passed' : `failed (${report.diagnostics.length} type errors, run ${report.run?.status ?? 'skipped'})`}\n`);
}
process.stdout.write(`result: ${result.ok ? 'valid code' : 'no valid code'} after ${result.attempts} attempt(s), ${result.usage.outputTokens} tokens generated\n${result.code}\n`);

await step('type-check against the real Node types, then run the tests in the sandbox', [
  'check',
  join(here, 'word-frequencies.ts'),
  '--tests',
  join(here, 'word-frequencies.tests.js'),
]);
