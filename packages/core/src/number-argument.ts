import { InvalidArgumentError } from './invalid-argument-error.js';

/**
 * The number a command-line option was given as text, or undefined when it was not given. Text
 * that is not a finite number (empty, `8k`, `NaN`, `Infinity`) is refused with
 * {@link InvalidArgumentError} naming the option, so a typo fails at once instead of running on as
 * NaN.
 *
 * @param value - the option's text, as `parseArgs` gives it.
 * @param name - the option as the user typed it, such as `--steps`.
 */
export function numberArgument(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) throw new InvalidArgumentError({ argument: name, message: `must be a number, got '${value}'` });
  return number;
}
