import { InvalidArgumentError } from '@codestack/core';
import type { CliContext } from './cli-context.js';
import { parse, positiveInteger, projectRelativePath, readInput, write } from './arguments.js';

/** `codestack check FILE`: type-check, then run. */
export async function checkCommand(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parse(args, { tests: { type: 'string' }, json: { type: 'boolean' }, timeout: { type: 'string' } });
  const [file] = positionals;
  if (!file) throw new InvalidArgumentError({ argument: 'FILE', message: 'check needs a file' });
  const { validateCode } = await import('@codestack/orchestrator');
  const code = await readInput(file, context);
  const tests = values.tests === undefined ? undefined : await readInput(values.tests, context);
  const language = /\.(c|m)?jsx?$/.test(file) ? 'javascript' : 'typescript';
  const projectDirectory = context.cwd ?? process.cwd();
  // Files inside the project keep their names, so diagnostics point at the user's file and line
  // and tests may import the code under test (`import { clamp } from './clamp'`).
  const codeFile = projectRelativePath(file, projectDirectory);
  const testsFile = projectRelativePath(values.tests, projectDirectory);
  const report = await validateCode({
    code,
    tests,
    language,
    ...(codeFile === undefined ? {} : { codeFile }),
    ...(testsFile === undefined ? {} : { testsFile }),
    run: true,
    projectDirectory,
    timeoutMilliseconds: positiveInteger(values.timeout, 'timeout', 10000),
    signal: context.signal,
  });
  const { formatDiagnostics } = await import('@codestack/orchestrator');
  const lines = [formatDiagnostics(report.diagnostics), report.run ? `run: ${report.run.status} (${report.run.durationMilliseconds.toFixed(0)} ms, isolation: ${report.run.isolation})` : 'run: skipped (type errors)'];
  if (report.run && report.run.status !== 'passed') lines.push(report.run.stderr.trim());
  write(context, values.json, { ok: report.ok, language, diagnostics: report.diagnostics, run: report.run ?? null }, lines.filter(Boolean).join('\n'));
  return report.ok ? 0 : 1;
}
