import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// The CLI tests run the built bin as a real child process (turbo builds the package before `test`).
export const bin = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
export const packageDirectory = fileURLToPath(new URL('../..', import.meta.url));

export interface BinRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunBinOptions {
  /** Working directory of the bin; the package directory unless told. */
  cwd?: string;
  /** Variables added to the environment. */
  environment?: Record<string, string>;
}

/** The test's own environment less its OPENAI_* variables, which never leak into the bin. */
export function inheritedEnvironment(): NodeJS.ProcessEnv {
  const { OPENAI_BASE_URL: _url, OPENAI_API_KEY: _key, OPENAI_MODEL: _model, ...inherited } = process.env;
  return inherited;
}

/** Runs the built bin to its end, `input` on its stdin, and collects its exit code, stdout and stderr. */
export function runBin(args: string[], input = '', options: RunBinOptions = {}): Promise<BinRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd ?? packageDirectory, stdio: ['pipe', 'pipe', 'pipe'], env: { ...inheritedEnvironment(), ...options.environment } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Starts `codestack serve … --port 0 --json` and resolves with the process and the URL it printed. */
export async function startServe(args: string[]): Promise<{ server: ChildProcessWithoutNullStreams; url: string }> {
  const server = spawn(process.execPath, [bin, 'serve', ...args, '--port', '0', '--json'], { cwd: packageDirectory });
  for await (const line of createInterface({ input: server.stdout })) {
    return { server, url: (JSON.parse(line) as { url: string }).url };
  }
  throw new Error('codestack serve closed its stdout before printing its URL');
}

/** Stops a server started by startServe, if it still runs. */
export async function stopServe(server: ChildProcessWithoutNullStreams | undefined): Promise<void> {
  if (server !== undefined && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('close', resolve));
  }
}
