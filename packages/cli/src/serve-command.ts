import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError, type LanguageModel } from '@codestack/core';
import type { CliContext } from './cli-context.js';
import { parse, positiveInteger, write } from './arguments.js';
import { modelOptions, resolveModel, type ResolvedModel } from './resolve-model.js';
import { applyKnnOptions, checkKnnArguments, datastoreOptions } from './knn-options.js';

/** One `--lora-modules` entry: the id it is served as and its adapter directory. */
export interface LoraModule {
  name: string;
  path: string;
}

/**
 * Parses `--lora-modules` values as vLLM does: `name=path`, or the JSON form
 * `{"name": "rxjs", "path": "DIR"}`; with the bundled model a bare bundled adapter name (`rxjs`)
 * serves that adapter under its own name. Relative paths resolve from `cwd`.
 */
export async function parseLoraModules(values: readonly string[], cwd: string, bundled: boolean): Promise<LoraModule[]> {
  const modules: LoraModule[] = [];
  for (const value of values) {
    let name: string | undefined;
    let path: string | undefined;
    if (value.trimStart().startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch (error) {
        throw new InvalidArgumentError({ argument: '--lora-modules', message: `not valid JSON: ${value}`, cause: error });
      }
      const entry = parsed as { name?: unknown; path?: unknown };
      if (typeof entry.name === 'string') name = entry.name;
      if (typeof entry.path === 'string') path = entry.path;
    } else if (value.includes('=')) {
      name = value.slice(0, value.indexOf('='));
      path = value.slice(value.indexOf('=') + 1);
    } else if (bundled) {
      const { bundledAdapterDirectory } = await import('@codestack/model-base');
      name = value;
      path = bundledAdapterDirectory(value);
    } else {
      throw new InvalidArgumentError({ argument: '--lora-modules', message: `expected name=path (a bare name picks a bundled adapter of the bundled model only), got '${value}'` });
    }
    if (!name || !path) throw new InvalidArgumentError({ argument: '--lora-modules', message: `expected name=path with both parts, got '${value}'` });
    if (modules.some((module) => module.name === name)) throw new InvalidArgumentError({ argument: '--lora-modules', message: `the adapter name '${name}' is given twice` });
    modules.push({ name, path: resolve(cwd, path) });
  }
  return modules;
}

/** `codestack serve`. */
export async function serveCommand(args: readonly string[], context: CliContext): Promise<number> {
  const { values } = parse(args, {
    ...modelOptions,
    ...datastoreOptions,
    port: { type: 'string' },
    host: { type: 'string' },
    'server-api-key': { type: 'string' },
    'lora-modules': { type: 'string', multiple: true },
  });
  const port = positiveInteger(values.port, '--port', 8080);
  const loraValues = values['lora-modules'] ?? [];
  let model: LanguageModel;
  let modules: LoraModule[] = [];
  let resolved: ResolvedModel;
  checkKnnArguments(values);
  if (loraValues.length === 0) resolved = await resolveModel(values, context);
  else {
    if (values['base-url'] !== undefined || (values.model === undefined && (context.environment ?? {}).OPENAI_BASE_URL)) {
      throw new InvalidArgumentError({ argument: '--lora-modules', message: 'adapters are served on a local --model (or the bundled one), not on an endpoint' });
    }
    if (values.adapter !== undefined) throw new InvalidArgumentError({ argument: '--adapter', message: 'give either --adapter (merged into the base) or --lora-modules (each served by name), not both' });
    const cwd = context.cwd ?? process.cwd();
    const bundled = values.model === undefined;
    const modelBase = bundled ? await import('@codestack/model-base') : undefined;
    modules = await parseLoraModules(loraValues, cwd, bundled);
    for (const module of modules) {
      if (!existsSync(module.path)) throw new InvalidArgumentError({ argument: '--lora-modules', message: `no adapter directory at ${module.path} (for '${module.name}')` });
    }
    const { loadLocalModel } = await import('@codestack/orchestrator/local');
    const local = await loadLocalModel(modelBase ? modelBase.baseModelDirectory : resolve(cwd, values.model!), {
      modelId: values['model-name'] ?? modelBase?.baseModelId ?? 'codestack-local',
      ...(values.encoding === undefined ? {} : { encoding: values.encoding }),
      adapters: Object.fromEntries(modules.map((module) => [module.name, module.path])),
      ...(context.signal ? { signal: context.signal } : {}),
    });
    resolved = { model: local, tokenizer: local.tokenizer, contextTokens: local.contextTokens, local };
  }
  // With --datastore, every request to the base model mixes in its neighbours; a request to a
  // --lora-modules adapter runs without them (the adapter changes the hidden states the keys hold).
  model = await applyKnnOptions(values, resolved, context, false);
  const { createOpenAIServer } = await import('@codestack/orchestrator');
  const apiKey = values['server-api-key'] ?? (context.environment ?? {}).CODESTACK_SERVER_API_KEY;
  const server = createOpenAIServer({
    model,
    ...(apiKey ? { apiKey } : {}),
    ...(modules.length > 0 ? { adapters: Object.fromEntries(modules.map((module) => [module.name, { adapter: module.name, root: module.path }])) } : {}),
  });
  const { url } = await server.listen(port, values.host ?? '127.0.0.1');
  const adapterNames = modules.map((module) => module.name);
  write(
    context,
    values.json,
    { event: 'listening', url, model: model.modelId, ...(adapterNames.length > 0 ? { adapters: adapterNames } : {}), ...(values.datastore ? { datastore: values.datastore } : {}) },
    `Serving ${model.modelId}${adapterNames.length > 0 ? ` with adapters ${adapterNames.join(', ')}` : ''} at ${url}`,
  );
  await new Promise<void>((resolvePromise) => {
    if (context.signal?.aborted) resolvePromise();
    context.signal?.addEventListener('abort', () => resolvePromise(), { once: true });
  });
  await server.close();
  return 0;
}
