import { CodestackError, InvalidArgumentError } from '@codestack/core';
import type { CliContext } from './cli/cli-context.js';
import { checkCommand } from './cli/check-command.js';
import { completeCommand } from './cli/complete-command.js';
import { docsCommand } from './cli/docs-command.js';
import { evalCommand } from './cli/eval-pass-at-k-command.js';
import { generateCommand } from './cli/generate-command.js';
import { serveCommand } from './cli/serve-command.js';
import { tokensCommand } from './cli/tokens-command.js';

export type { CliContext } from './cli/cli-context.js';

/** The usage text of the `codestack` command. */
export const cliUsage = `Usage: codestack <command> [options]   (every command takes --json)

  generate "<task>" [--docs DIR] [--tests FILE] [--language typescript|javascript] [--repair-rounds N] [model options]
  complete [--file F --line N] [--docs DIR] [model options]   prefix from stdin, or the file up to line N
  check FILE [--tests FILE]                           type-check, then run; exit 0 only when both pass
  tokens count [FILE] [--encoding E]                  count tokens of FILE or stdin
  docs index|search ...                               the retrieval docs command
  eval pass-at-k --data FILE.jsonl [--samples N] [--k 1,10] [--canonical] [model options]
  eval completion --data DIR|FILE.jsonl [--docs DIR] [--limit FILES] [--cases-per-file N] [--details] [model options]
                                                      exact match of the next line and next identifier
  serve --port N [--host H] [--server-api-key K] [model options]

Model options: --model DIR [--encoding E] [--adapter DIR|NAME] (a local checkpoint), or
  --base-url URL --model-name M [--api-key K] (an OpenAI-compatible endpoint). Without either,
  OPENAI_BASE_URL (with OPENAI_API_KEY and OPENAI_MODEL, default gpt-4o-mini) selects a remote
  model, and otherwise the bundled base model of @codestack/model-base runs locally.
`;

/**
 * Runs the `codestack` command line and returns its exit code: 0 success, 1 failure (including a
 * failed check), 2 usage error. Errors are printed (as `{"error":{code,message}}` with `--json`),
 * never thrown.
 */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const [command, ...rest] = argv;
  const json = rest.includes('--json');
  try {
    switch (command) {
      case 'check':
        return await checkCommand(rest, context);
      case 'tokens':
        return await tokensCommand(rest, context);
      case 'docs':
        return await docsCommand(rest, context);
      case 'eval':
        return await evalCommand(rest, context);
      case 'generate':
        return await generateCommand(rest, context);
      case 'complete':
        return await completeCommand(rest, context);
      case 'serve':
        return await serveCommand(rest, context);
      case undefined:
      case '--help':
      case 'help':
        context.stdout.write(cliUsage);
        return 0;
      default:
        throw new InvalidArgumentError({ argument: 'command', message: `unknown command '${command}'\n${cliUsage}` });
    }
  } catch (error) {
    const known = CodestackError.isInstance(error);
    const code = known ? error.code : 'UNEXPECTED';
    const message = error instanceof Error ? error.message : String(error);
    context.stderr.write(json ? `${JSON.stringify({ error: { code, message } })}\n` : `codestack: ${message}\n`);
    return code === 'INVALID_ARGUMENT' ? 2 : 1;
  }
}
