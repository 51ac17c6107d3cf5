// The root README's CLI section runs as written: every command of its `sh` block, from the
// repository root, against the built repository. `serve` runs until it answers /v1/models on a
// free port (8080 may be taken on a shared machine), then stops on SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { expect, test } from 'vitest';
import { root } from './readme-examples.mjs';

const readme = readFileSync(`${root}/README.md`, 'utf8');
const section = readme.slice(readme.indexOf('## The `codestack` CLI'));
const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
const commands = block
  .split('\n')
  .map((line) => line.replace(/\s+#.*$/, '').trim())
  .filter((line) => line.length > 0);

test('the CLI section lists commands', () => {
  expect(commands.length).toBeGreaterThan(5);
  for (const command of commands) expect(command.startsWith('npx codestack ')).toBe(true);
});

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test.each(commands.filter((command) => !command.startsWith('npx codestack serve')))('%s', (command) => {
  const result = spawnSync('sh', ['-c', command], { cwd: root, encoding: 'utf8', timeout: 240_000 });
  expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  expect(result.stdout.length).toBeGreaterThan(0);
});

test.each(commands.filter((command) => command.startsWith('npx codestack serve')))('%s', async (command) => {
  const port = await freePort();
  const child = spawn('sh', ['-c', `exec ${command.replace(/--port \d+/, `--port ${port}`)}`], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  try {
    const deadline = Date.now() + 120_000;
    while (!output.includes('Serving') && Date.now() < deadline && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(output).toContain(`http://127.0.0.1:${port}`);
    const models = await (await fetch(`http://127.0.0.1:${port}/v1/models`)).json();
    expect(models.data.length).toBeGreaterThan(0);
  } finally {
    if (child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
  }
  // npx itself may die of the SIGTERM it forwards; the server stopped either way.
  const { code, signal } = await exited;
  expect(code === 0 || signal === 'SIGTERM', `${code} ${signal}\n${output}`).toBe(true);
});
