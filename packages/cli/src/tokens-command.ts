import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FileFormatError, InvalidArgumentError, type Tokenizer } from '@codestack/core';
import type { CliContext } from './cli-context.js';
import { parse, readInput, write } from './arguments.js';

/** The encoding `codestack tokens count` uses without `--encoding`: that of GPT-4o and later models. */
export const defaultTokenCountEncoding = 'o200k_base';

/**
 * The tokenizer of a model directory: a Hugging Face download's `tokenizer.json` (with its
 * `tokenizer_config.json`), else a codestack checkpoint's `vocabulary.json`.
 */
async function directoryTokenizer(directory: string): Promise<Tokenizer> {
  const tokenizerPackage = await import('@codestack/tokenizer');
  if (existsSync(join(directory, 'tokenizer.json'))) return tokenizerPackage.loadHuggingFaceTokenizer(directory);
  if (existsSync(join(directory, 'vocabulary.json'))) return tokenizerPackage.loadCompactVocabulary(join(directory, 'vocabulary.json'));
  throw new FileFormatError({
    path: directory,
    reason: 'missing',
    message: `${directory} has no tokenizer: expected tokenizer.json (a Hugging Face model) or vocabulary.json (a codestack checkpoint)`,
  });
}

/** `codestack tokens count`. */
export async function tokensCommand(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parse(args, { encoding: { type: 'string' }, model: { type: 'string' }, json: { type: 'boolean' } });
  const [subcommand, file] = positionals;
  if (subcommand !== 'count') throw new InvalidArgumentError({ argument: 'subcommand', message: "tokens supports 'count'" });
  if (values.model !== undefined && values.encoding !== undefined) throw new InvalidArgumentError({ argument: '--model', message: 'give either --model DIR or --encoding, not both' });
  const tokenizer: Tokenizer =
    values.model !== undefined
      ? await directoryTokenizer(resolve(context.cwd ?? process.cwd(), values.model))
      : (await import('@codestack/tokenizer')).getTokenizer(values.encoding ?? defaultTokenCountEncoding);
  const text = await readInput(file, context);
  // The text's own tokens: no beginning-of-sequence token, and control-token text counted as text.
  const tokens = tokenizer.countTokens(text);
  write(context, values.json, { tokens, characters: text.length, encoding: tokenizer.encodingName }, String(tokens));
  return 0;
}
