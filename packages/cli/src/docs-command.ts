import type { CliContext } from './cli-context.js';

/** `codestack docs index|search`, delegated to `@codestack/retrieval`. */
export async function docsCommand(args: readonly string[], context: CliContext): Promise<number> {
  const { runDocsCommand } = await import('@codestack/retrieval');
  return runDocsCommand(args, { stdout: context.stdout, stderr: context.stderr, signal: context.signal, cwd: context.cwd });
}
