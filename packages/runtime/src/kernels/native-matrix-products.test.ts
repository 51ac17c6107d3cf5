import { InvalidArgumentError } from '@codestack/core';
import { loadNativeKernels } from '@codestack/native-kernels';
import { describe, expect, it } from 'vitest';
import { createRuntime, type ModuleLoader } from '../backend/runtime.js';
import { forwardAndGradients, maximumDifference } from '../__fixtures__/numeric-checks.js';
import { wasmKernelsFor } from './wasm-kernels.js';

const load = loadNativeKernels();
const available = load.available;
/** How runtime.device names the products' instruction set here. */
const instructionSetName = load.available && load.kernels.instructionSet === 'avx512' ? 'AVX-512' : 'AVX2, FMA';

/** The default loader, except that @codestack/native-kernels is not installed. */
const withoutNativeKernels: ModuleLoader = async (specifier) => {
  if (specifier === '@codestack/native-kernels') throw Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' });
  return import(specifier);
};

describe('native matrix products (@codestack/native-kernels) on the wasm backend', { timeout: 120000 }, () => {
  it.skipIf(!available)('run every product of a model by default, with the logits and gradients of the WebAssembly kernels (within 1e-5), leaking nothing', async () => {
    const reference = forwardAndGradients(await createRuntime({ backend: 'wasm', nativeKernels: false }));
    for (const threads of [1, 2]) {
      const runtime = await createRuntime({ backend: 'wasm', threads });
      expect(runtime.device.endsWith(`, matrix products native (${instructionSetName})`), runtime.device).toBe(true);
      expect(wasmKernelsFor(runtime.tf)?.nativeProducts).toBeDefined();
      const result = forwardAndGradients(runtime);
      expect(result.leaked).toBe(0);
      expect(maximumDifference(reference.logits, result.logits)).toBeLessThan(1e-5);
      expect([...result.gradients.keys()]).toEqual([...reference.gradients.keys()]);
      for (const [name, gradient] of reference.gradients) expect(maximumDifference(gradient, result.gradients.get(name)!), `${threads} thread(s), ${name}`).toBeLessThan(1e-5);
      runtime.dispose();
    }
  });

  it('stay off with nativeKernels: false, with kernels: tfjs, and where the package is missing; the runtime works the same', async () => {
    for (const options of [{ nativeKernels: false }, { kernels: 'tfjs' as const }, { loadModule: withoutNativeKernels }]) {
      const runtime = await createRuntime({ backend: 'wasm', ...options });
      expect(runtime.device, JSON.stringify(options)).toBe('WebAssembly (SIMD, 1 thread)');
      expect(wasmKernelsFor(runtime.tf)?.nativeProducts).toBeUndefined();
      const { leaked, logits } = forwardAndGradients(runtime);
      expect(leaked).toBe(0);
      expect(logits.every(Number.isFinite)).toBe(true);
    }
  });

  it('a runtime created later on the same backend decides, as with kernels', async () => {
    const first = await createRuntime({ backend: 'wasm', nativeKernels: false });
    expect(wasmKernelsFor(first.tf)?.nativeProducts).toBeUndefined();
    await createRuntime({ backend: 'wasm' });
    expect(wasmKernelsFor(first.tf)?.nativeProducts !== undefined).toBe(available);
    await createRuntime({ backend: 'wasm', nativeKernels: false });
    expect(wasmKernelsFor(first.tf)?.nativeProducts).toBeUndefined();
  });

  it('refuses a nativeKernels that is not a boolean', async () => {
    await expect(createRuntime({ backend: 'wasm', nativeKernels: 'yes' as unknown as boolean })).rejects.toSatisfy((error: unknown) => InvalidArgumentError.isInstance(error) && (error as InvalidArgumentError).argument === 'nativeKernels');
  });
});
