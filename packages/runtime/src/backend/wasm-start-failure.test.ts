import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError } from './backend-unavailable-error.js';
import { createRuntime, type ModuleLoader } from './runtime.js';

// A file of its own: the loader below replaces TensorFlow.js's (process-global) wasm factory.

type Factory = NonNullable<ReturnType<typeof tf.findBackendFactory>>;
let original: Factory | undefined;

/**
 * tfjs-node cannot load, and tfjs-backend-wasm loads but its registered factory fails to start,
 * as when the .wasm binary cannot be fetched or compiled: tfjs then warns and `setBackend`
 * returns false.
 */
const loaderWithFailingWasmStart: ModuleLoader = async (specifier) => {
  if (specifier.startsWith('@tensorflow/tfjs-node')) throw new Error(`simulated: ${specifier} missing`);
  const loaded = await import(specifier);
  if (specifier === '@tensorflow/tfjs-backend-wasm') {
    original ??= tf.findBackendFactory('wasm') ?? undefined;
    tf.removeBackend('wasm');
    tf.registerBackend('wasm', () => {
      throw new Error('simulated: the wasm binary failed to compile');
    }, 2);
  }
  return loaded;
};

afterEach(async () => {
  if (original === undefined) return;
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', original, 2);
  original = undefined;
});

describe('a wasm backend that fails to start', () => {
  it('auto falls back to cpu and says why wasm was skipped', async () => {
    const runtime = await createRuntime({ backend: 'auto', loadModule: loaderWithFailingWasmStart });
    expect(runtime.backend).toBe('cpu');
    expect(runtime.tf.getBackend()).toBe('cpu');
    expect(runtime.skipped.map((attempt) => attempt.backend)).toEqual(['tensorflow-gpu', 'tensorflow', 'wasm']);
    expect(runtime.skipped[2]!.reason).toMatch(/wasm/);
    expect(runtime.skipped[2]!.reason).toMatch(/failed to start/);
  });

  it('throws BackendUnavailableError when wasm is requested explicitly', async () => {
    let caught: unknown;
    try {
      await createRuntime({ backend: 'wasm', loadModule: loaderWithFailingWasmStart });
    } catch (error) {
      caught = error;
    }
    expect(BackendUnavailableError.isInstance(caught)).toBe(true);
    expect((caught as BackendUnavailableError).backend).toBe('wasm');
    expect((caught as Error).message).toMatch(/failed to start/);
  });

  it('activate() throws BackendUnavailableError instead of leaving the engine on another backend', async () => {
    const wasm = await createRuntime({ backend: 'wasm' });
    await createRuntime({ backend: 'cpu' });
    original = tf.findBackendFactory('wasm') ?? undefined;
    tf.removeBackend('wasm');
    tf.registerBackend('wasm', () => {
      throw new Error('simulated: the wasm binary failed to compile');
    }, 2);
    await expect(wasm.activate()).rejects.toSatisfy(
      (error: unknown) => BackendUnavailableError.isInstance(error) && /failed to start/.test((error as Error).message),
    );
    expect(tf.getBackend()).toBe('cpu');
    expect(() => wasm.assertActive()).toThrow();
  });
});
