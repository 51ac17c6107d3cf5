import type { CodeDiagnostic } from '../validation/type-check/type-check.js';
import { typescriptCompiler } from '../validation/type-check/typescript-compiler.js';
import type { ValidationReport } from '../validation/validate-code.js';

/** What the repair message knows of the code and tests it validated, to point at their lines. */
export interface FailureSources {
  /** The code under test, as the model wrote it. */
  code: string;
  /** The tests, as the user wrote them. */
  tests?: string;
  /** `typescript` (default) or `javascript`: TypeScript ran type-stripped, so its lines are mapped back. */
  language?: 'typescript' | 'javascript';
  /** The code's file name for messages. Default `code`. */
  codeFile?: string;
  /** The tests' file name for messages. Default `tests`. */
  testsFile?: string;
}

/** A test failure, read from the sandbox's stderr and mapped back to the user's files. */
export interface TestFailure {
  /** The error's first line, such as `AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:`. */
  error: string;
  /** The rest of the error's message (such as `8 !== 2`), Node's internals left out. */
  details: string[];
  /** The failing test line: file, 1-based line and its source text. */
  test?: { file: string; line: number; text: string };
  /** The deepest line of the code the failure passed through. */
  code?: { file: string; line: number; text: string };
  /** `expected` and `actual` as Node printed them, for assertions. */
  expected?: string;
  actual?: string;
}

const base64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * For each 0-based line of the JavaScript TypeScript makes of `source` (the sandbox's
 * transpilation), the 0-based source line it came from. Same compiler options as the sandbox's
 * `transpileTypeScript`, plus a source map (which only adds a trailing comment).
 */
export function transpiledLineMap(source: string): (generatedLine: number) => number | undefined {
  const compiler = typescriptCompiler();
  const output = compiler.transpileModule(source, {
    fileName: 'snippet.ts',
    compilerOptions: { target: compiler.ScriptTarget.ES2022, module: compiler.ModuleKind.CommonJS, esModuleInterop: true, sourceMap: true },
  });
  const mappings = (JSON.parse(output.sourceMapText ?? '{"mappings":""}') as { mappings: string }).mappings;
  const lines: (number | undefined)[] = [];
  let sourceLine = 0;
  for (const segments of mappings.split(';')) {
    let first: number | undefined;
    for (const segment of segments.split(',')) {
      if (segment === '') continue;
      const fields: number[] = [];
      let value = 0;
      let shift = 0;
      for (const character of segment) {
        const digit = base64.indexOf(character);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          fields.push(value & 1 ? -(value >> 1) : value >> 1);
          value = 0;
          shift = 0;
        }
      }
      if (fields.length >= 4) {
        sourceLine += fields[2]!;
        first ??= sourceLine;
      }
    }
    lines.push(first);
  }
  return (generatedLine) => lines[generatedLine];
}

const frameLine = /^\s+at /;
/** A tests frame: the sandbox evaluates the tests directly, so V8 names them `<anonymous>` inside `eval at`. */
const testsFrame = /\(eval at [^\n]*?tests\.cjs:\d+:\d+\), <anonymous>:(\d+):(\d+)\)$/;
const codeFrame = /codestack-sandbox-[^/\s]+\/main\.c?js:(\d+):(\d+)\)?$/;
const sandboxPath = /\/tmp\/codestack-sandbox-[^/\s]+\//g;

/** Reads the first failure out of a failed run's stderr and maps its frames back to the user's files. */
export function readTestFailure(stderr: string, sources: FailureSources): TestFailure | undefined {
  const lines = stderr.split('\n');
  const start = lines.findIndex((line) => /^(?:\w+ )?\w*(?:Error|Exception)\b[^\n]*(?::|$)/.test(line) || /^Uncaught /.test(line));
  if (start < 0) return undefined;
  const firstFrame = lines.findIndex((line, index) => index > start && frameLine.test(line));
  const messageEnd = firstFrame < 0 ? lines.length : firstFrame;
  const details = lines
    .slice(start + 1, messageEnd)
    .map((line) => line.replace(sandboxPath, ''))
    .filter((line, index, all) => line.trim() !== '' || (index > 0 && all[index - 1]!.trim() !== ''));
  while (details.length > 0 && details[details.length - 1]!.trim() === '') details.pop();
  const failure: TestFailure = { error: lines[start]!.replace(sandboxPath, ''), details: details.slice(0, 20) };
  const typescript = (sources.language ?? 'typescript') === 'typescript';
  const testsMap = sources.tests !== undefined && typescript ? transpiledLineMap(sources.tests) : undefined;
  const codeMap = typescript ? transpiledLineMap(sources.code) : undefined;
  const sourceLine = (text: string, line: number): string => (text.split('\n')[line - 1] ?? '').trim();
  for (const line of lines.slice(messageEnd)) {
    if (!frameLine.test(line)) {
      if (/^\S/.test(line)) break;
      continue;
    }
    const test = testsFrame.exec(line);
    if (test && sources.tests !== undefined && failure.test === undefined) {
      const generated = Number(test[1]);
      const mapped = testsMap ? testsMap(generated - 1) : generated - 1;
      if (mapped !== undefined) failure.test = { file: sources.testsFile ?? 'tests', line: mapped + 1, text: sourceLine(sources.tests, mapped + 1) };
      continue;
    }
    const code = codeFrame.exec(line);
    if (code && failure.code === undefined && failure.test === undefined) {
      const generated = Number(code[1]);
      const mapped = codeMap ? codeMap(generated - 1) : generated - 1;
      if (mapped !== undefined) failure.code = { file: sources.codeFile ?? 'code', line: mapped + 1, text: sourceLine(sources.code, mapped + 1) };
    }
  }
  // Node prints an assertion's fields after the frames: `actual: 8,` and `expected: 2,`.
  const field = (name: string): string | undefined => {
    const match = new RegExp(`^  ${name}: (.*?),?$`, 'm').exec(stderr);
    return match ? match[1] : undefined;
  };
  const actual = field('actual');
  const expected = field('expected');
  if (actual !== undefined) failure.actual = actual;
  if (expected !== undefined) failure.expected = expected;
  return failure;
}

/** The failure as the repair message states it: the failing test line first, then the code line, values and message. */
export function formatTestFailure(failure: TestFailure): string {
  const parts: string[] = [];
  if (failure.test) parts.push(`The failing test is ${failure.test.file}:${failure.test.line}:\n    ${failure.test.text}`);
  if (failure.code) parts.push(`It failed in your code at ${failure.code.file}:${failure.code.line}:\n    ${failure.code.text}`);
  if (failure.expected !== undefined || failure.actual !== undefined) {
    parts.push([failure.expected === undefined ? '' : `Expected: ${failure.expected}`, failure.actual === undefined ? '' : `Actual:   ${failure.actual}`].filter(Boolean).join('\n'));
  }
  parts.push([failure.error, ...failure.details].join('\n'));
  return parts.join('\n');
}

/** Diagnostics with their source lines, located in the user's files. */
export function formatDiagnosticsWithSource(diagnostics: readonly CodeDiagnostic[], sources: FailureSources): string {
  const codeLines = sources.code.split('\n');
  const testsLines = sources.tests?.split('\n') ?? [];
  return diagnostics
    .map((diagnostic) => {
      let file = diagnostic.file;
      let line = diagnostic.line;
      let text: string | undefined;
      if (line !== undefined) {
        if (file !== undefined && sources.testsFile !== undefined && file === sources.testsFile) text = testsLines[line - 1];
        else if (file !== undefined && file === sources.codeFile) text = codeLines[line - 1];
        else if (file === '(tests)') {
          file = sources.testsFile ?? 'tests';
          text = testsLines[line - 1];
        } else if (sources.codeFile === undefined) {
          // One snippet: the code, then the tests.
          if (line <= codeLines.length) {
            file = 'code';
            text = codeLines[line - 1];
          } else {
            line -= codeLines.length;
            file = sources.testsFile ?? 'tests';
            text = testsLines[line - 1];
          }
        }
      }
      const where = file !== undefined && line !== undefined ? `${file}:${line}${diagnostic.column === undefined ? '' : `:${diagnostic.column}`} - ` : '';
      const head = `${where}${diagnostic.category} TS${diagnostic.code}: ${diagnostic.message}`;
      return text === undefined || text.trim() === '' ? head : `${head}\n    ${text.trim()}`;
    })
    .join('\n');
}

/** The message that asks the model to repair a failed answer; with `sources`, it points at the user's lines. */
export function describeValidationFailure(report: ValidationReport, sources?: FailureSources): string[] {
  const parts: string[] = [];
  if (report.diagnostics.length > 0) {
    const diagnostics = report.diagnostics.slice(0, 20);
    parts.push(`The TypeScript compiler reported:\n${sources ? formatDiagnosticsWithSource(diagnostics, sources) : diagnostics.map(formatOne).join('\n')}`);
  }
  if (report.run && report.run.status !== 'passed') {
    const failure = sources && report.run.status === 'failed' ? readTestFailure(report.run.stderr, sources) : undefined;
    if (failure) parts.push(`Running the tests failed.\n${formatTestFailure(failure)}`);
    else {
      const stderr = report.run.stderr
        .replace(sandboxPath, '')
        .trim()
        .split('\n')
        .filter((line) => !/^\s+at .*(?:node:internal|\[eval\]|tests\.cjs:1:)/.test(line))
        .slice(0, 20)
        .join('\n');
      parts.push(`Running the tests ended with status '${report.run.status}':\n${stderr}`);
    }
  }
  return parts;
}

function formatOne(diagnostic: CodeDiagnostic): string {
  const where = diagnostic.file ? `${diagnostic.file}:${diagnostic.line}:${diagnostic.column} - ` : '';
  return `${where}${diagnostic.category} TS${diagnostic.code}: ${diagnostic.message}`;
}
