import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256File, sha256Hex, writeFileAtomic } from './atomic-file.js';

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'codestack-atomic-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('replaces the file and leaves no temporary file behind', async () => {
    const path = join(directory, 'manifest.json');
    await writeFileAtomic(path, 'first');
    await writeFileAtomic(path, new TextEncoder().encode('second'));
    expect(await readFile(path, 'utf8')).toBe('second');
    expect(await readdir(directory)).toEqual(['manifest.json']);
  });

  it('leaves the previous file intact when the writing process is killed midway', async () => {
    const path = join(directory, 'weights.bin');
    await writeFile(path, 'previous');
    const source = fileURLToPath(new URL('./atomic-file.ts', import.meta.url));
    // A real child process writes a large file in a loop until it is killed.
    const script = `
      import { writeFileAtomic } from ${JSON.stringify(source)};
      const big = new Uint8Array(64 * 1024 * 1024).fill(7);
      process.stdout.write('ready\\n');
      for (;;) await writeFileAtomic(${JSON.stringify(path)}, big);
    `;
    const scriptPath = join(directory, 'writer.mts');
    await writeFile(scriptPath, script);
    const child = spawn(process.execPath, ['--import', 'tsx', scriptPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 30));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const content = await readFile(path);
    // Either the old bytes or a whole new file, never a torn one.
    const whole = content.length === 64 * 1024 * 1024 && content.every((byte) => byte === 7);
    expect(content.toString() === 'previous' || whole).toBe(true);
  }, 30_000);
});

describe('sha256', () => {
  it('hashes bytes and files alike', async () => {
    const path = join(directory, 'data.txt');
    await writeFile(path, 'abc');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(await sha256File(path)).toBe(sha256Hex('abc'));
  });
});
