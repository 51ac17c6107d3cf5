import { InvalidArgumentError } from '@codestack/core';
import type { CliContext } from './cli-context.js';
import { parse, readInput, write } from './arguments.js';

/** The encoding `codestack tokens count` uses without `--encoding`: that of GPT-4o and later models. */
export const defaultTokenCountEncoding = 'o200k_base';

/** `codestack tokens count`. */
export async function tokensCommand(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parse(args, { encoding: { type: 'string' }, json: { type: 'boolean' } });
  const [subcommand, file] = positionals;
  if (subcommand !== 'count') throw new InvalidArgumentError({ argument: 'subcommand', message: "tokens supports 'count'" });
  const { getTokenizer } = await import('@codestack/tokenizer');
  const tokenizer = getTokenizer(values.encoding ?? defaultTokenCountEncoding);
  const text = await readInput(file, context);
  const tokens = tokenizer.countTokens(text);
  write(context, values.json, { tokens, characters: text.length, encoding: tokenizer.encodingName }, String(tokens));
  return 0;
}
