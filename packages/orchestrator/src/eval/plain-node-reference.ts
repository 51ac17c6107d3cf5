import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The reference the eval harness is compared with: the program run by plain `node` (no
 * permission model, no guard) with `NODE_PATH` set to the project's `node_modules`; passed means
 * exit code 0 within the time limit. Used by the harness agreement test and script only.
 */
export async function runWithPlainNode(
  program: string,
  { nodePath, timeoutMilliseconds = 10000 }: { nodePath: string; timeoutMilliseconds?: number },
): Promise<{ passed: boolean; exitCode: number | null; stderr: string }> {
  const directory = await mkdtemp(join(tmpdir(), 'codestack-reference-'));
  try {
    const file = join(directory, 'main.cjs');
    await writeFile(file, program);
    return await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [file], {
        cwd: directory,
        env: { ...process.env, NODE_PATH: nodePath },
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: timeoutMilliseconds,
        killSignal: 'SIGKILL',
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < 20000) stderr += chunk.toString('utf8');
      });
      child.on('error', reject);
      child.on('close', (exitCode) => resolve({ passed: exitCode === 0, exitCode, stderr }));
    });
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
