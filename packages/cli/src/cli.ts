#!/usr/bin/env node
/**
 * The `codestack` command. See {@link cliUsage} (`codestack help`). SIGINT and SIGTERM cancel the
 * running command through its `AbortSignal`. When the reader of stdout goes away (`| head -1`),
 * the command ends at once, quietly, with exit code 0, like a Unix tool that receives SIGPIPE.
 */
import { runCli } from './run-cli.js';

const controller = new AbortController();
for (const signalName of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signalName, () => controller.abort(new Error(`received ${signalName}`)));
}
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    // The reader closed the pipe: nobody wants more output, so stop now and say nothing.
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  signal: controller.signal,
  cwd: process.cwd(),
  environment: process.env,
});
