#!/usr/bin/env node
/**
 * The `codestack-docs` command (the same as `codestack docs`). SIGINT and SIGTERM cancel the
 * running command; a closed stdout pipe (`| head -1`) ends it quietly with exit code 0.
 */
import { runCommandLineProgram } from '@codestack/core';
import { runDocsCommand } from './docs-command.js';

await runCommandLineProgram(({ signal }) => runDocsCommand(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal }));
