#!/usr/bin/env node
import { runDocsCommand } from './docs-command.js';

const controller = new AbortController();
process.once('SIGINT', () => controller.abort(new Error('SIGINT')));
process.exitCode = await runDocsCommand(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
});
