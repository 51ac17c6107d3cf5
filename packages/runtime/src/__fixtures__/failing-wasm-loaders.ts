// Module loaders for createRuntime that make the threaded wasm build fail on purpose.

/** The Emscripten config object our loader passes to the threaded glue (the parts touched here). */
interface GlueConfig {
  instantiateWasm(imports: { env: Record<string, unknown> }, receive: (instance: unknown, module: unknown) => void): object;
}

/**
 * A loader whose threaded glue gets no `env` imports, so that WebAssembly.instantiate rejects
 * (a LinkError, as for a corrupt or mismatched .wasm). The same config object goes through:
 * the glue attaches its pthread pool to it.
 */
export async function failingInstantiation(specifier: string): Promise<unknown> {
  const loaded = (await import(specifier)) as { default?: unknown };
  if (!specifier.includes('threaded-simd')) return loaded;
  const factory = (typeof loaded === 'function' ? loaded : loaded.default) as (config: GlueConfig) => Promise<unknown>;
  return (config: GlueConfig) => {
    const instantiate = config.instantiateWasm;
    config.instantiateWasm = (imports, receive) => instantiate({ ...imports, env: {} }, receive);
    return factory(config);
  };
}

/** A loader whose tfjs-backend-wasm has a BackendWasm that throws in its constructor. */
export async function failingBackendConstructor(specifier: string): Promise<unknown> {
  const loaded = (await import(specifier)) as Record<string, unknown>;
  if (specifier !== '@tensorflow/tfjs-backend-wasm') return loaded;
  return {
    ...loaded,
    BackendWasm: class {
      constructor() {
        throw new Error('simulated: BackendWasm failed');
      }
    },
  };
}

