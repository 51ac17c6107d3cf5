import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runCli } from '@codestack/cli';

// runCli is the `codestack` command as a function: it takes the arguments and the streams, and
// reads the environment only through `environment` (the bin passes process.env).
let output = '';
const stdout = new Writable({
  write(chunk, _encoding, callback) {
    output += chunk;
    callback();
  },
});
const context = { stdout, stderr: process.stderr, environment: {} };
const directory = await mkdtemp(join(tmpdir(), 'codestack-cli-example-'));
try {
  const code = join(directory, 'add.ts');
  const tests = join(directory, 'add.test.ts');
  await writeFile(code, 'export function add(a: number, b: number): number {\n  return a + b;\n}\n');
  await writeFile(tests, "import { strictEqual } from 'node:assert';\nstrictEqual(add(2, 3), 5);\n");

  await runCli(['tokens', 'count', code, '--json'], context);
  console.log('tokens count:', output.trim());
  output = '';
  const status = await runCli(['check', code, '--tests', tests, '--json'], context);
  const report = JSON.parse(output);
  console.log('check: exit code', status, '| type errors', report.diagnostics.length, '| tests', report.run.status);
} finally {
  await rm(directory, { recursive: true, force: true });
}
