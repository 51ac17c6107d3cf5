import { resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { InvalidArgumentError, numberArgument, type LanguageModel } from '@codestack/core';
import type { CliContext } from './cli-context.js';
import type { ResolvedModel } from './resolve-model.js';

/** The options of commands that can mix a kNN datastore in (`--datastore DIR`). */
export const datastoreOptions = {
  datastore: { type: 'string' },
  'knn-lambda': { type: 'string' },
  'knn-neighbours': { type: 'string' },
  'knn-temperature': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

/** The options of commands that complete code before a cursor: the datastore and the continuous cache. */
export const cacheOptions = {
  ...datastoreOptions,
  cache: { type: 'boolean' },
  'no-cache': { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

/** The parsed kNN options. */
export interface KnnValues {
  datastore?: string;
  'knn-lambda'?: string;
  'knn-neighbours'?: string;
  'knn-temperature'?: string;
  cache?: boolean;
  'no-cache'?: boolean;
  /** `--adapter`: an adapter merged into the model, which a datastore does not apply to. */
  adapter?: string;
}

/**
 * Whether the continuous cache is on: `--cache`, `--no-cache`, else `fallback` (the command's
 * default: on for `complete` on a local model, off for `eval completion`, whose plain run stays
 * the model alone).
 */
export function cacheEnabled(values: KnnValues, fallback = false): boolean {
  if (values.cache && values['no-cache']) throw new InvalidArgumentError({ argument: '--cache', message: 'give either --cache or --no-cache, not both' });
  return values.cache === true ? true : values['no-cache'] === true ? false : fallback;
}

/** The `--knn-*` numbers given, as overrides of the default λ, k and temperature. */
export interface KnnOverrides {
  lambda?: number;
  k?: number;
  temperature?: number;
}

/**
 * The checks of the kNN options that need no model: `--datastore` with `--adapter` (a datastore
 * applies to the base model only) is refused, and the `--knn-*` numbers must parse. Commands call
 * it before loading a model, so a wrong combination fails at once; {@link applyKnnOptions} calls
 * it too and uses the numbers it returns.
 *
 * @returns the `--knn-*` numbers given, parsed once.
 */
export function checkKnnArguments(values: KnnValues): KnnOverrides {
  if (values.datastore !== undefined && values.adapter !== undefined) {
    throw new InvalidArgumentError({
      argument: '--datastore',
      message:
        "a kNN datastore applies to the base model only: --adapter merges an adapter into the weights, which changes the hidden states the datastore's keys were taken from. Drop --adapter to use the datastore (with serve, --lora-modules serves the adapter by name: its requests run without the datastore, the base model's use it)",
    });
  }
  const lambda = numberArgument(values['knn-lambda'], '--knn-lambda');
  const k = numberArgument(values['knn-neighbours'], '--knn-neighbours');
  const temperature = numberArgument(values['knn-temperature'], '--knn-temperature');
  return {
    ...(lambda === undefined ? {} : { lambda }),
    ...(k === undefined ? {} : { k }),
    ...(temperature === undefined ? {} : { temperature }),
  };
}

/**
 * Wraps the resolved model in `knnDatastoreMiddleware` when `--datastore DIR` is given or `cache`
 * is on: loads the datastore against the local model's weights and tokenizer (a datastore built
 * for other weights is refused with `MISMATCHED_FILE`). λ, k and temperature default to
 * `defaultDatastoreSettings` / `defaultCacheSettings` of `@codestack/orchestrator`, or the
 * `--knn-lambda`, `--knn-neighbours`, `--knn-temperature` given (for both).
 *
 * A datastore applies to the base model only: `--datastore` with `--adapter` (merged into the
 * weights, which changes the hidden states the keys were taken from) is refused, and under
 * `serve --lora-modules` requests to an adapter run without it (the continuous cache, built with
 * the request's adapter in place, applies to all).
 */
export async function applyKnnOptions(values: KnnValues, resolved: ResolvedModel, context: CliContext, cache: boolean): Promise<LanguageModel> {
  const overrides = checkKnnArguments(values);
  if (values.datastore === undefined && !cache) {
    if (Object.keys(overrides).length > 0) throw new InvalidArgumentError({ argument: '--knn-lambda', message: 'the --knn-* options apply with --datastore DIR or --cache' });
    return resolved.model;
  }
  const local = resolved.local;
  if (local === undefined) {
    throw new InvalidArgumentError({ argument: values.datastore !== undefined ? '--datastore' : '--cache', message: "kNN lookups read a local model's hidden states; they do not apply to an endpoint (--base-url or OPENAI_BASE_URL)" });
  }
  const { loadDatastore } = await import('@codestack/orchestrator/local');
  const { knnDatastoreMiddleware, wrapLanguageModel, defaultDatastoreSettings, defaultCacheSettings } = await import('@codestack/orchestrator');
  const datastore = values.datastore === undefined ? undefined : await loadDatastore(resolve(context.cwd ?? process.cwd(), values.datastore), { model: local.model, tokenizer: local.tokenizer });
  const middleware = knnDatastoreMiddleware({
    ...(datastore === undefined ? {} : { datastore, settings: { ...defaultDatastoreSettings, ...overrides } }),
    ...(cache ? { cache: { ...defaultCacheSettings, ...overrides } } : {}),
  });
  return wrapLanguageModel({ model: resolved.model, middleware });
}

/** The help lines of {@link datastoreOptions}. */
export const datastoreHelp = `  --datastore DIR         mix in a kNN-LM datastore (codestack datastore build) built for this model's
                          weights; one built for other weights is refused. Base model only: not
                          with --adapter, and not for requests to a --lora-modules adapter
  --knn-lambda X          weight of the neighbours' distribution, 0..1 (default: see the orchestrator's
                          defaultDatastoreSettings / defaultCacheSettings)
  --knn-neighbours K      neighbours per step
  --knn-temperature T     temperature of the softmax over negative distances`;

/** The help lines of {@link cacheOptions}, with the command's default. */
export function cacheHelp(byDefault: string): string {
  return `${datastoreHelp}
  --cache, --no-cache     the continuous cache: the text before the cursor (its last 4,096 tokens, far
                          beyond the model's window; never the text after it) as a small kNN datastore
                          (${byDefault})`;
}
