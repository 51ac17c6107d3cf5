import { CodestackError, InvalidArgumentError } from '@codestack/core';
import type { CliContext } from './cli-context.js';
import { checkCommand } from './check-command.js';
import { completeCommand } from './complete-command.js';
import { datastoreCommand } from './datastore-command.js';
import { docsCommand } from './docs-command.js';
import { evalCommand } from './eval-pass-at-k-command.js';
import { generateCommand } from './generate-command.js';
import { serveCommand } from './serve-command.js';
import { tokensCommand } from './tokens-command.js';
import { closestName } from './closest-name.js';
import { commandHelp } from './help.js';

export type { CliContext } from './cli-context.js';

/** The usage text of the `codestack` command (`codestack help`). */
export const cliUsage: string = commandHelp['']!;

const commands = ['generate', 'complete', 'check', 'tokens', 'docs', 'datastore', 'eval', 'serve', 'help'];

/** The words of `argv` that name a command with its own help, such as `docs index`. */
function helpTopic(words: readonly string[]): string {
  let topic = '';
  for (const word of words) {
    const next = topic === '' ? word : `${topic} ${word}`;
    if (commandHelp[next] === undefined) break;
    topic = next;
  }
  return topic;
}

async function packageVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

/**
 * Runs the `codestack` command line and returns its exit code: 0 success, 1 failure (including a
 * failed check), 2 usage error. Errors are printed (as `{"error":{code,message}}` with `--json`),
 * never thrown.
 */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const [command, ...rest] = argv;
  const beforeSeparator = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  const json = beforeSeparator.includes('--json');
  try {
    if (command === '--version' || command === 'version') {
      const version = await packageVersion();
      context.stdout.write(json ? `${JSON.stringify({ version })}\n` : `${version}\n`);
      return 0;
    }
    if (command === 'help' || beforeSeparator.includes('--help') || beforeSeparator.includes('-h')) {
      const words = command === 'help' ? rest : argv;
      context.stdout.write(commandHelp[helpTopic(words.filter((word) => !word.startsWith('-')))]!);
      return 0;
    }
    switch (command) {
      case 'check':
        return await checkCommand(rest, context);
      case 'tokens':
        return await tokensCommand(rest, context);
      case 'docs':
        return await docsCommand(rest, context);
      case 'datastore':
        return await datastoreCommand(rest, context);
      case 'eval':
        return await evalCommand(rest, context);
      case 'generate':
        return await generateCommand(rest, context);
      case 'complete':
        return await completeCommand(rest, context);
      case 'serve':
        return await serveCommand(rest, context);
      case undefined:
        context.stdout.write(cliUsage);
        return 0;
      default: {
        const suggestion = closestName(command, commands);
        throw new InvalidArgumentError({
          argument: 'command',
          message: `unknown command '${command}'${suggestion ? `; did you mean '${suggestion}'?` : ''} (codestack --help lists the commands)`,
        });
      }
    }
  } catch (error) {
    const known = CodestackError.isInstance(error);
    const code = known ? error.code : 'UNEXPECTED';
    const message = error instanceof Error ? error.message : String(error);
    const usage = code === 'INVALID_ARGUMENT';
    const topic = helpTopic(argv.filter((word) => !word.startsWith('-')));
    const hint = usage && topic !== '' && !message.includes('--help') ? `\nRun 'codestack ${topic} --help' for its options and examples.` : '';
    context.stderr.write(json ? `${JSON.stringify({ error: { code, message } })}\n` : `codestack: ${message}${hint}\n`);
    return usage ? 2 : 1;
  }
}
