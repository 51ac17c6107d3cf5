import { InvalidArgumentError } from './invalid-argument-error.js';

/**
 * The number a command-line option was given as text, or undefined when it was not given. Text
 * that is not a finite number (empty, `8k`, `NaN`, `Infinity`), or a number below
 * `options.minimum`, is refused with {@link InvalidArgumentError} naming the option, so a typo
 * fails at once instead of running on as NaN.
 *
 * @param value - the option's text, as `parseArgs` gives it.
 * @param name - the option as the user typed it, such as `--steps`.
 * @param options - `minimum`: the least number accepted.
 */
export function numberArgument(value: string | undefined, name: string, options: { minimum?: number } = {}): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  const { minimum } = options;
  if (value.trim() === '' || !Number.isFinite(number) || (minimum !== undefined && number < minimum)) {
    throw new InvalidArgumentError({ argument: name, message: `must be a number${minimum === undefined ? '' : ` of at least ${minimum}`}, got '${value}'` });
  }
  return number;
}
