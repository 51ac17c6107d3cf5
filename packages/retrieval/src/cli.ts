#!/usr/bin/env node
/**
 * The `codestack-docs` command (the same as `codestack docs`). SIGINT and SIGTERM cancel the
 * running command through its `AbortSignal`; when the reader of stdout goes away (`| head -1`),
 * it ends at once, quietly, with exit code 0, like a Unix tool that receives SIGPIPE.
 */
import { runDocsCommand } from './docs-command.js';

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
process.exitCode = await runDocsCommand(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
});
