import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import { BackendUnavailableError } from './backend-unavailable-error.js';
import { BackendNotActiveError } from './backend-not-active-error.js';
import { createRuntime, type ModuleLoader } from './runtime.js';
import { LlamaModel } from '../model/llama-model.js';
import { tinyConfig } from '../__fixtures__/test-configs.js';

/** A module loader whose tfjs-node imports throw, as when the native addon cannot load. */
const loaderWithUnloadableTfjsNode: ModuleLoader = async (specifier) => {
  if (specifier.startsWith('@tensorflow/tfjs-node')) throw new Error(`simulated: cannot find native addon for ${specifier}`);
  return import(specifier);
};

describe('createRuntime', () => {
  it('falls back from an unloadable tfjs-node (injected loader) to wasm and says why each was skipped', async () => {
    const runtime = await createRuntime({ backend: 'auto', loadModule: loaderWithUnloadableTfjsNode });
    expect(runtime.backend).toBe('wasm');
    expect(runtime.tf.getBackend()).toBe('wasm');
    expect(runtime.device).toMatch(/WebAssembly/);
    expect(runtime.skipped.map((attempt) => attempt.backend)).toEqual(['tensorflow-gpu', 'tensorflow']);
    expect(runtime.skipped[0]!.reason).toMatch(/simulated: cannot find native addon for @tensorflow\/tfjs-node-gpu/);
  });

  it('falls back past wasm to cpu when wasm cannot load either (injected loader)', async () => {
    const runtime = await createRuntime({
      loadModule: async (specifier) => {
        if (specifier !== '@tensorflow/tfjs-backend-cpu') throw new Error(`simulated: ${specifier} missing`);
        return import(specifier);
      },
    });
    expect(runtime.backend).toBe('cpu');
    expect(runtime.device).toBe('CPU (plain JavaScript)');
    expect(runtime.skipped.map((attempt) => attempt.backend)).toEqual(['tensorflow-gpu', 'tensorflow', 'wasm']);
    await createRuntime({ backend: 'wasm' });
  });

  it('with the real module loader, falls back because tfjs-node is genuinely not installed here', async () => {
    const runtime = await createRuntime();
    expect(['tensorflow-gpu', 'tensorflow', 'wasm']).toContain(runtime.backend);
    if (runtime.backend === 'wasm') expect(runtime.skipped.map((attempt) => attempt.backend)).toEqual(['tensorflow-gpu', 'tensorflow']);
  });

  it('throws BackendUnavailableError with an install hint for an explicitly requested unavailable backend', async () => {
    let caught: unknown;
    try {
      await createRuntime({ backend: 'tensorflow', loadModule: loaderWithUnloadableTfjsNode });
    } catch (error) {
      caught = error;
    }
    expect(BackendUnavailableError.isInstance(caught)).toBe(true);
    expect((caught as BackendUnavailableError).code).toBe('BACKEND_UNAVAILABLE');
    expect((caught as BackendUnavailableError).installHint).toMatch(/npm install @tensorflow\/tfjs-node/);
    expect((caught as Error).message).toMatch(/'tensorflow' backend is unavailable/);
  });

  it('refuses an unknown backend name', async () => {
    await expect(createRuntime({ backend: 'webgpu' as never })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('never switches the global engine behind a runtime: a second runtime makes the first refuse until activate()', async () => {
    const wasm = await createRuntime({ backend: 'wasm' });
    const model = LlamaModel.create(wasm, tinyConfig);
    const cpu = await createRuntime({ backend: 'cpu' });
    expect(cpu.tf.getBackend()).toBe('cpu');
    let caught: unknown;
    try {
      model.logits([[1, 2]]);
    } catch (error) {
      caught = error;
    }
    expect(BackendNotActiveError.isInstance(caught)).toBe(true);
    expect((caught as BackendNotActiveError).activeBackend).toBe('cpu');
    await wasm.activate();
    expect(wasm.tf.getBackend()).toBe('wasm');
    expect(model.logits([[1, 2]]).shape).toEqual([1, 2, 48]);
    model.dispose();
  });
});
