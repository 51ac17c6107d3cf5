import { InvalidArgumentError } from '@codestack/core';
import type { CliContext } from './cli-context.js';
import { parse, positiveInteger, readInput, write } from './arguments.js';

/** `codestack check FILE`: type-check, then run. */
export async function checkCommand(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parse(args, { tests: { type: 'string' }, json: { type: 'boolean' }, timeout: { type: 'string' } });
  const [file] = positionals;
  if (!file) throw new InvalidArgumentError({ argument: 'FILE', message: 'check needs a file' });
  const { validateCode } = await import('../validate-code.js');
  const code = await readInput(file, context);
  const tests = values.tests === undefined ? undefined : await readInput(values.tests, context);
  const language = /\.(c|m)?jsx?$/.test(file) ? 'javascript' : 'typescript';
  const report = await validateCode({
    code,
    tests,
    language,
    run: true,
    projectDirectory: context.cwd ?? process.cwd(),
    timeoutMilliseconds: positiveInteger(values.timeout, 'timeout', 10000),
    signal: context.signal,
  });
  const { formatDiagnostics } = await import('../type-check.js');
  const lines = [formatDiagnostics(report.diagnostics), report.run ? `run: ${report.run.status} (${report.run.durationMilliseconds.toFixed(0)} ms, isolation: ${report.run.isolation})` : 'run: skipped (type errors)'];
  if (report.run && report.run.status !== 'passed') lines.push(report.run.stderr.trim());
  write(context, values.json, { ok: report.ok, language, diagnostics: report.diagnostics, run: report.run ?? null }, lines.filter(Boolean).join('\n'));
  return report.ok ? 0 : 1;
}
