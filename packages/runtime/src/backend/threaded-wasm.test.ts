import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNodeProcess, type NodeProcessResult } from '../__fixtures__/run-node-process.js';
import { AbortedError, InvalidArgumentError } from '@codestack/core';
import { BackendNotActiveError } from './backend-not-active-error.js';
import { ThreadsUnavailableError } from './threads-unavailable-error.js';
import { createRuntime, type Runtime } from './runtime.js';
import { LlamaModel } from '../model/llama-model.js';
import { streamGenerate } from '../generation/generate.js';
import { failingBackendConstructor, failingInstantiation } from '../__fixtures__/failing-wasm-loaders.js';
import { forwardAndGradients, maximumDifference, smallModelConfig as config } from '../__fixtures__/numeric-checks.js';

describe('the threaded wasm runtime', { timeout: 120000 }, () => {
  it('computes the same logits and gradients (within 1e-5) as the single-threaded build, without leaking', async () => {
    const single = await createRuntime({ backend: 'wasm', threads: 1 });
    expect(single.threads).toBe(1);
    const reference = forwardAndGradients(single);
    const threaded = await createRuntime({ backend: 'wasm', threads: 2 });
    expect(threaded.threads).toBe(2);
    expect(threaded.device).toMatch(/^WebAssembly \(SIMD, 2 threads\)/);
    const result = forwardAndGradients(threaded);
    expect(reference.leaked).toBe(0);
    expect(result.leaked).toBe(0);
    expect(maximumDifference(reference.logits, result.logits)).toBeLessThan(1e-5);
    expect([...result.gradients.keys()]).toEqual([...reference.gradients.keys()]);
    expect(reference.gradients.size).toBeGreaterThan(10);
    for (const [name, gradient] of reference.gradients) expect(maximumDifference(gradient, result.gradients.get(name)!), name).toBeLessThan(1e-5);
    threaded.dispose();
  });

  it('keeps one wasm build per process: another thread count supersedes a runtime until it is activated again', async () => {
    const threaded = await createRuntime({ backend: 'wasm', threads: 2 });
    const single = await createRuntime({ backend: 'wasm', threads: 1 });
    expect(() => threaded.assertActive()).toThrow(BackendNotActiveError);
    single.assertActive();
    await threaded.activate();
    threaded.assertActive();
    expect(() => single.assertActive()).toThrow(BackendNotActiveError);
    const product = threaded.tf.matMul(threaded.tf.ones([3, 2]), threaded.tf.ones([2, 3]));
    expect([...product.dataSync()]).toEqual(Array.from({ length: 9 }, () => 2));
    product.dispose();
    threaded.dispose();
    expect(() => threaded.assertActive()).toThrow(BackendNotActiveError);
    await single.activate();
    single.assertActive();
  });

  it('aborts generation through an AbortSignal mid-stream and releases every tensor', async () => {
    const runtime = await createRuntime({ backend: 'wasm', threads: 2 });
    const model = LlamaModel.create(runtime, config, { seed: 3 });
    const before = runtime.tf.memory().numTensors;
    const controller = new AbortController();
    let seen = 0;
    await expect(
      (async () => {
        for await (const _chunk of streamGenerate(model, [1, 2], { maximumNewTokens: 50, signal: controller.signal })) {
          seen++;
          if (seen === 3) controller.abort();
        }
      })(),
    ).rejects.toSatisfy((error: unknown) => AbortedError.isInstance(error));
    expect(seen).toBe(3);
    expect(runtime.tf.memory().numTensors).toBe(before);
    model.dispose();
    runtime.dispose();
  });

  it('refuses a bad thread count, and threads the cpu backend cannot have, with typed errors', async () => {
    for (const threads of [0, 9, 1.5, Number.NaN]) {
      await expect(createRuntime({ backend: 'wasm', threads })).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    let caught: unknown;
    try {
      await createRuntime({ backend: 'cpu', threads: 2 });
    } catch (error) {
      caught = error;
    }
    expect(ThreadsUnavailableError.isInstance(caught)).toBe(true);
    expect((caught as ThreadsUnavailableError).code).toBe('THREADS_UNAVAILABLE');
    expect((caught as ThreadsUnavailableError).threads).toBe(2);
  });

  const unloadableThreadedBuild = async (specifier: string): Promise<unknown> => {
    if (specifier.includes('threaded-simd')) throw new Error(`simulated: ${specifier} missing`);
    return import(specifier);
  };

  it('throws ThreadsUnavailableError when the threaded build cannot load (injected loader)', async () => {
    await expect(createRuntime({ backend: 'wasm', threads: 2, loadModule: unloadableThreadedBuild })).rejects.toSatisfy(
      (error: unknown) => ThreadsUnavailableError.isInstance(error) && /simulated/.test((error as Error).message),
    );
  });

  // With one logical core, 'auto' asks for one thread and never tries the threaded build.
  it.skipIf(availableParallelism() < 2)('auto falls back to one thread when the threaded build cannot load (needs 2+ logical cores)', async () => {
    const runtime = await createRuntime({ backend: 'wasm', threads: 'auto', loadModule: unloadableThreadedBuild });
    expect(runtime.threads).toBe(1);
    expect(runtime.device).toMatch(/^WebAssembly \(SIMD, 1 thread\)/);
  });

  it('throws ThreadsUnavailableError, instead of hanging, when the WebAssembly instantiation fails (injected loader)', async () => {
    await expect(createRuntime({ backend: 'wasm', threads: 2, loadModule: failingInstantiation })).rejects.toSatisfy(
      (error: unknown) => ThreadsUnavailableError.isInstance(error) && /failed to start.*instantiation failed/.test((error as Error).message),
    );
  });

  it('throws ThreadsUnavailableError when BackendWasm cannot be constructed over the threaded module (injected loader)', async () => {
    await expect(createRuntime({ backend: 'wasm', threads: 2, loadModule: failingBackendConstructor })).rejects.toSatisfy(
      (error: unknown) => ThreadsUnavailableError.isInstance(error) && /simulated: BackendWasm/.test((error as Error).message),
    );
  });
});

// A fresh Node process: the host application, importing the package's source through tsx.
describe('a host process with a threaded runtime', { timeout: 120000 }, () => {
  const entry = fileURLToPath(new URL('../index.ts', import.meta.url));
  const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
  const loaders = fileURLToPath(new URL('../__fixtures__/failing-wasm-loaders.ts', import.meta.url));
  let directory: string;

  beforeAll(async () => {
    expect(existsSync(entry)).toBe(true);
    directory = await mkdtemp(join(tmpdir(), 'codestack-threaded-wasm-'));
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  async function run(source: string): Promise<NodeProcessResult> {
    const file = join(directory, `application-${Math.random().toString(36).slice(2)}.mts`);
    await writeFile(file, source);
    // A hang is killed after 60 s and shows as signal SIGKILL.
    return runNodeProcess(['--import', 'tsx', file], { cwd: packageRoot, timeout: 60000, killSignal: 'SIGKILL' });
  }

  it('exits by itself, silently, after creating, using and disposing a threaded runtime', async () => {
    const result = await run(`
      import { createRuntime } from ${JSON.stringify(entry)};
      const runtime = await createRuntime({ backend: 'wasm', threads: 2 });
      if (runtime.threads !== 2) throw new Error('expected 2 threads, got ' + runtime.threads);
      const product = runtime.tf.matMul(runtime.tf.ones([256, 256]), runtime.tf.ones([256, 256]));
      await product.data();
      product.dispose();
      runtime.dispose();
    `);
    expect(result).toEqual({ code: 0, signal: null, stdout: '', stderr: '' });
  });

  it('exits by itself even when the application forgets to dispose, and leaves no global Worker or process listener', async () => {
    const result = await run(`
      import { createRuntime } from ${JSON.stringify(entry)};
      const runtime = await createRuntime({ backend: 'wasm', threads: 2 });
      runtime.tf.matMul(runtime.tf.ones([256, 256]), runtime.tf.ones([256, 256])).dataSync();
      if ('Worker' in globalThis) throw new Error('a global Worker was left behind');
      const listeners = process.listenerCount('uncaughtException') + process.listenerCount('unhandledRejection');
      if (listeners !== 0) throw new Error(listeners + ' process listeners were left behind');
    `);
    expect(result).toEqual({ code: 0, signal: null, stdout: '', stderr: '' });
  });

  it.each([
    ['the WebAssembly instantiation fails', failingInstantiation],
    ['BackendWasm cannot be constructed', failingBackendConstructor],
  ])('exits by itself with a typed error when %s: no pthread worker is left running', async (_title, loader) => {
    const result = await run(`
      import { createRuntime } from ${JSON.stringify(entry)};
      import { ${loader.name} as loadModule } from ${JSON.stringify(loaders)};
      try {
        await createRuntime({ backend: 'wasm', threads: 2, loadModule });
        console.log('no error');
      } catch (error) {
        console.log(error.code);
      }
    `);
    expect(result).toMatchObject({ code: 0, signal: null, stdout: 'THREADS_UNAVAILABLE\n' });
  });
});