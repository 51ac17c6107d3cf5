#!/usr/bin/env node
/**
 * The `codestack` command. See {@link cliUsage} (`codestack help`). SIGINT and SIGTERM cancel the
 * running command through its `AbortSignal`.
 */
import { runCli } from './run-cli.js';

const controller = new AbortController();
for (const signalName of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signalName, () => controller.abort(new Error(`received ${signalName}`)));
}
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  signal: controller.signal,
});
