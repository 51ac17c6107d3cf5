#!/usr/bin/env node
/**
 * The `codestack` command. See {@link cliUsage} (`codestack help`). SIGINT and SIGTERM cancel the
 * running command through its `AbortSignal`. When the reader of stdout goes away (`| head -1`),
 * the command ends at once, quietly, with exit code 0, like a Unix tool that receives SIGPIPE.
 */
import { runCommandLineProgram } from '@codestack/core';
import { runCli } from './run-cli.js';

await runCommandLineProgram(({ signal }) =>
  runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    signal,
    cwd: process.cwd(),
    environment: process.env,
  }),
);
