import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FileFormatError, InvalidArgumentError } from '@codestack/core';

/**
 * The directory of the bundled base model: `config.json` and `model.safetensors` (f16, read by
 * `loadModel` of `@codestack/runtime`, which verifies both against `codestack-manifest.json`
 * and the bounds of every configuration field), `vocabulary.json` (its
 * compact vocabulary, read by `loadCompactVocabulary` of `@codestack/tokenizer`) and
 * `training-summary.json`. The model card is this package's README.
 */
export const baseModelDirectory: string = fileURLToPath(new URL('../model/', import.meta.url));

/** The model id the bundled model reports (in the CLI, the OpenAI-compatible server and traces). */
export const baseModelId = 'codestack-base-1m';

/**
 * The adapters that ship with the base model, by name: each a PEFT-style LoRA directory. `rxjs`
 * tunes it to the rxjs sources; `node-docs` was trained on `@types/node` docs followed by Node code
 * (see the model card: with the continuous cache it answers the most held-out API members).
 */
export const bundledAdapterNames: readonly string[] = ['rxjs', 'node-docs'];

/**
 * The directory of a bundled adapter (for `loadAdapter` of `@codestack/tuning`).
 *
 * @throws InvalidArgumentError for a name that is not bundled; FileFormatError (`MISSING_FILE`)
 * when the package was installed without its adapter files.
 */
export function bundledAdapterDirectory(name: string): string {
  if (!bundledAdapterNames.includes(name)) {
    throw new InvalidArgumentError({ argument: 'name', message: `no bundled adapter named ${JSON.stringify(name)}; bundled: ${bundledAdapterNames.join(', ')}` });
  }
  const directory = fileURLToPath(new URL(`../adapters/${name}/`, import.meta.url));
  if (!existsSync(directory)) throw new FileFormatError({ path: directory, reason: 'missing', message: 'the bundled adapter is not installed' });
  return directory;
}
