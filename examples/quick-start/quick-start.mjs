// The README's main job: real API docs, retrieval and validation through the codestack CLI.
// 1. Index the real @types/node declarations once (cached in .cache/docs/types-node).
// 2. Search them for the APIs a task needs.
// 3. Type-check a TypeScript file against the real Node types and run its tests in the sandbox.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@codestack/orchestrator';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const index = join(root, '.cache', 'docs', 'types-node');
const context = { stdout: process.stdout, stderr: process.stderr, cwd: root };

async function step(title, argv) {
  process.stdout.write(`\n$ codestack ${argv.map((part) => (part.includes(' ') ? JSON.stringify(part) : part)).join(' ')}   # ${title}\n`);
  const status = await runCli(argv, context);
  if (status !== 0) process.exit(status);
}

if (!existsSync(join(index, 'manifest.json'))) {
  await step('first run: index the real @types/node docs', ['docs', 'index', '@types/node', '--out', index]);
}
await step('find the APIs for a task', ['docs', 'search', 'read a file synchronously', '--index', index, '-k', '5']);
await step('type-check against the real Node types, then run the tests in the sandbox', [
  'check',
  join(here, 'word-frequencies.ts'),
  '--tests',
  join(here, 'word-frequencies.tests.js'),
]);
