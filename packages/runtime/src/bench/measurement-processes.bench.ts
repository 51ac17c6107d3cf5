/**
 * Runs one bench measurement in a fresh process: ours (this bench script again, with `--measure`)
 * or PyTorch's (scripts/reference-speed.py). A fresh process per measurement lets the bench
 * alternate the contenders, gives each the same start (no WebAssembly heap grown by the one
 * before), and fixes the thread count before the library starts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { referenceConfigs, type DecodeMeasurement, type SpeedJob, type TrainingMeasurement } from './speed-measurements.bench.js';

const python = '/usr/bin/python3';
const referenceScript = fileURLToPath(new URL('../../scripts/reference-speed.py', import.meta.url));

/** Whether PyTorch can be measured here; the reason when not. */
export function pyTorchAvailability(): { available: true; version: string } | { available: false; reason: string } {
  const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', env: pyTorchEnvironment(1) });
  if (probe.error !== undefined) return { available: false, reason: `${python} cannot run (${probe.error.message})` };
  if (probe.status !== 0) return { available: false, reason: `${python} cannot import torch` };
  return { available: true, version: probe.stdout.trim() };
}

/** The environment issue 15 prescribes for PyTorch with OpenBLAS: thread count set, core type and L2 size unset. */
function pyTorchEnvironment(threads: number): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  delete environment.OPENBLAS_CORETYPE;
  delete environment.OPENBLAS_L2_SIZE;
  return environment;
}

function run(command: string, args: string[], environment: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: environment, signal });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.slice(-2).join(' ')} exited with ${code}: ${stderr.slice(-800)}`));
    });
  });
}

function lastJsonLine<T>(stdout: string): T {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as T;
}

/** Measures `job` with @codestack/runtime in a fresh Node process (the loader flags of this one, e.g. tsx's, carry over). */
export async function measureOurs(job: SpeedJob, signal?: AbortSignal): Promise<TrainingMeasurement | DecodeMeasurement> {
  const script = process.argv[1] as string;
  const stdout = await run(process.execPath, [...process.execArgv, script, '--measure', JSON.stringify(job)], process.env, signal);
  return lastJsonLine(stdout);
}

/** Measures `job` with PyTorch (eager, float32) in a fresh Python process. */
export async function measurePyTorch(job: SpeedJob, signal?: AbortSignal): Promise<TrainingMeasurement | DecodeMeasurement> {
  const config = referenceConfigs[job.model];
  const request = { ...job, config };
  const stdout = await run(python, [referenceScript, JSON.stringify(request)], pyTorchEnvironment(job.threads), signal);
  const answer = lastJsonLine<Record<string, unknown>>(stdout);
  const device = `PyTorch ${String(answer.torch)} eager, ${String(answer.threads)} thread(s)`;
  return job.kind === 'train'
    ? { tokensPerSecond: answer.tokensPerSecond as TrainingMeasurement['tokensPerSecond'], device }
    : { decodeTokensPerSecond: answer.decodeTokensPerSecond as DecodeMeasurement['decodeTokensPerSecond'], device };
}
