/**
 * Runs one bench measurement in a fresh process: ours (this bench script again, with `--measure`)
 * or PyTorch's (scripts/reference-speed.py). A fresh process per measurement lets the bench
 * alternate the contenders, gives each the same start (no WebAssembly heap grown by the one
 * before), and fixes the thread count before the library starts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeWarmUpSteps, referenceConfigs, type DecodeMeasurement, type SpeedJob, type TrainingMeasurement } from './speed-measurements.bench.js';
import { engineHasRelaxedSimd } from '../kernels/wasm-kernels.js';

const python = '/usr/bin/python3';
const referenceScript = fileURLToPath(new URL('../../scripts/reference-speed.py', import.meta.url));

/** Whether PyTorch can be measured here, and with which OpenBLAS core; the reason when not. */
export function pyTorchAvailability(): { available: true; version: string; openBlasCore: string } | { available: false; reason: string } {
  const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', env: pyTorchEnvironment(1) });
  if (probe.error !== undefined) return { available: false, reason: `${python} cannot run (${probe.error.message})` };
  if (probe.status !== 0) return { available: false, reason: `${python} cannot import torch` };
  return { available: true, version: probe.stdout.trim(), openBlasCore: describeOpenBlasCore() };
}

/**
 * The OpenBLAS core kernel OpenBLAS picks by itself here. On a virtual machine that reports a
 * generic CPU model it can fall back to `Prescott` (SSE3) even where the CPU has AVX2 or AVX-512:
 * on the 2-core machine of issue 15 that gave PyTorch 16 GFLOP/s in matMul against 55 with the
 * Haswell kernel and 94 with SkylakeX.
 */
function detectedOpenBlasCore(): string | undefined {
  const environment = { ...process.env };
  delete environment.OPENBLAS_CORETYPE;
  const probe = spawnSync(python, ['-c', "import ctypes; f = ctypes.CDLL('libblas.so.3').openblas_get_corename; f.restype = ctypes.c_char_p; print(f().decode())"], { encoding: 'utf8', env: environment });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}

/** The fastest OpenBLAS core this CPU can run, from its flags: SkylakeX with AVX-512, Haswell with AVX2. */
function bestOpenBlasCore(): string | undefined {
  let flags = '';
  try {
    flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '';
  } catch {
    return undefined;
  }
  const has = (flag: string): boolean => new RegExp(`\\b${flag}\\b`).test(flags);
  if (has('avx512f')) return 'SkylakeX';
  if (has('avx2') && has('fma')) return 'Haswell';
  return undefined;
}

/** Generic kernels OpenBLAS falls back to; PyTorch's best here uses the CPU's own instead. */
const genericOpenBlasCores = new Set(['Prescott', 'Core2', 'Penryn', 'Dunnington', 'Nehalem', 'Atom', 'Katmai', 'Coppermine', 'Northwood']);

let chosenCore: { core: string | undefined; note: string } | undefined;

/**
 * PyTorch's best: OpenBLAS's own choice of core, unless that is a generic fallback on a CPU that
 * can run a faster one (then OPENBLAS_CORETYPE names the faster one). Measuring against a
 * handicapped PyTorch would flatter the ratios.
 */
function chooseOpenBlasCore(): { core: string | undefined; note: string } {
  if (chosenCore !== undefined) return chosenCore;
  const detected = detectedOpenBlasCore();
  const best = bestOpenBlasCore();
  chosenCore =
    detected !== undefined && genericOpenBlasCores.has(detected) && best !== undefined
      ? { core: best, note: `OpenBLAS detected ${detected} (a generic fallback); OPENBLAS_CORETYPE=${best} from the CPU flags` }
      : { core: undefined, note: `OpenBLAS's own choice (${detected ?? 'unknown'}), OPENBLAS_CORETYPE unset` };
  return chosenCore;
}

/** What OpenBLAS core the PyTorch measurements use, for the report. */
export function describeOpenBlasCore(): string {
  return chooseOpenBlasCore().note;
}

/** The PyTorch environment of issue 15: thread counts set, OPENBLAS_L2_SIZE unset, the core as {@link chooseOpenBlasCore} says. */
function pyTorchEnvironment(threads: number): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  delete environment.OPENBLAS_CORETYPE;
  delete environment.OPENBLAS_L2_SIZE;
  const { core } = chooseOpenBlasCore();
  if (core !== undefined) environment.OPENBLAS_CORETYPE = core;
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

/**
 * Measures `job` with @codestack/runtime in a fresh Node process (the loader flags of this one,
 * e.g. tsx's, carry over). With `relaxedSimd`, that process runs with
 * `--experimental-wasm-relaxed-simd` where the engine needs it (Node 20; newer ones ship it), so the kernels' relaxed-SIMD
 * build (fused multiply-add) is the one chosen. With `nativeKernels: false` it runs with
 * `CODESTACK_NATIVE_KERNELS=0`, so that the matrix products stay on the WebAssembly kernels.
 */
export async function measureOurs(job: SpeedJob, signal?: AbortSignal, options: { relaxedSimd?: boolean; nativeKernels?: boolean } = {}): Promise<TrainingMeasurement | DecodeMeasurement> {
  const script = process.argv[1] as string;
  // Engines that ship relaxed SIMD (Node 22 and later) refuse the flag and need none.
  const flags = options.relaxedSimd === true && !engineHasRelaxedSimd() ? ['--experimental-wasm-relaxed-simd'] : [];
  // Without the native products, for their own process and any data-parallel workers it starts.
  const environment = options.nativeKernels === false ? { ...process.env, CODESTACK_NATIVE_KERNELS: '0' } : process.env;
  const stdout = await run(process.execPath, [...flags, ...process.execArgv, script, '--measure', JSON.stringify(job)], environment, signal);
  return lastJsonLine(stdout);
}

/** Measures `job` with PyTorch (eager, float32) in a fresh Python process. */
export async function measurePyTorch(job: SpeedJob, signal?: AbortSignal): Promise<TrainingMeasurement | DecodeMeasurement> {
  const config = referenceConfigs[job.model];
  // The warm-up counts are the runtime's own, so that both sides make the same warm-up.
  const request = { ...job, config, warmUpSteps: job.kind === 'train' ? job.warmUpSteps : decodeWarmUpSteps };
  const stdout = await run(python, [referenceScript, JSON.stringify(request)], pyTorchEnvironment(job.threads), signal);
  const answer = lastJsonLine<Record<string, unknown>>(stdout);
  const device = `PyTorch ${String(answer.torch)} eager, ${String(answer.threads)} thread(s)`;
  return job.kind === 'train'
    ? { tokensPerSecond: answer.tokensPerSecond as TrainingMeasurement['tokensPerSecond'], device }
    : { decodeTokensPerSecond: answer.decodeTokensPerSecond as DecodeMeasurement['decodeTokensPerSecond'], device };
}
