import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { FileFormatError, InvalidArgumentError } from '@codestack/core';
import type { CliContext } from './cli-context.js';
import { closestName } from './closest-name.js';

/** Parses a command's arguments strictly; a parse error becomes an `InvalidArgumentError` (exit 2). */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  args: readonly string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /^Unknown option '(-{1,2}[^']+)'/.exec(message)?.[1];
    if (unknown !== undefined) {
      const known = Object.entries(options).flatMap(([name, option]) => [`--${name}`, ...(option.short ? [`-${option.short}`] : [])]);
      const suggestion = closestName(unknown, known);
      throw new InvalidArgumentError({
        argument: unknown,
        message: `unknown option '${unknown}'${suggestion ? `; did you mean '${suggestion}'?` : ''}`,
        cause: error,
      });
    }
    throw new InvalidArgumentError({ argument: 'arguments', message: message.split('. To specify a positional')[0]!, cause: error });
  }
}

/** Writes a result: a JSON line with `--json`, else the text. */
export function write(context: CliContext, json: boolean | undefined, value: unknown, text: string): void {
  context.stdout.write(json ? `${JSON.stringify(value)}\n` : text.endsWith('\n') ? text : `${text}\n`);
}

/** Reads a file (relative to the context's directory) or, without a path, all of stdin. */
export async function readInput(path: string | undefined, context: CliContext): Promise<string> {
  if (path !== undefined) {
    try {
      return await readFile(resolve(context.cwd ?? process.cwd(), path), 'utf8');
    } catch (error) {
      throw new FileFormatError({ path, reason: 'missing', message: 'cannot read the file', cause: error });
    }
  }
  if (!context.stdin) throw new InvalidArgumentError({ argument: 'stdin', message: 'no input: give a file or pipe text in' });
  const chunks: Buffer[] = [];
  for await (const chunk of context.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The name of `path` relative to `projectDirectory` when the file lies inside it, else undefined
 * (also for `-`, standard input). Files inside the project keep their names, so diagnostics and
 * failing assertions point at the user's own file and line.
 */
export function projectRelativePath(path: string | undefined, projectDirectory: string): string | undefined {
  if (path === undefined || path === '-') return undefined;
  const name = relative(projectDirectory, resolve(projectDirectory, path));
  return name === '' || name.startsWith('..') || isAbsolute(name) ? undefined : name;
}

/** Parses a whole number option, or returns `fallback` when it is absent. */
export function positiveInteger(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new InvalidArgumentError({ argument: name, message: `must be a whole number, got '${value}'` });
  return number;
}
