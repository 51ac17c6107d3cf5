import type ts from 'typescript';
import { typescriptCompiler } from './typescript-compiler.js';

/** One compiler diagnostic, with 1-based line and column when it points into a file. */
export interface CodeDiagnostic {
  /** The TypeScript diagnostic code, such as 2322 (0 for a problem found outside the compiler). */
  code: number;
  /** `error`, `warning`, `suggestion` or `message`. */
  category: 'error' | 'warning' | 'suggestion' | 'message';
  /** The flattened message text. */
  message: string;
  /** The file it points into (the checked snippet is named by its `fileName`). */
  file?: string;
  /** 1-based line. */
  line?: number;
  /** 1-based column. */
  column?: number;
}

/**
 * Converts a TypeScript diagnostic into a plain {@link CodeDiagnostic}. A diagnostic in
 * `virtualPath` is reported under the short `virtualName`.
 */
export function toCodeDiagnostic(diagnostic: ts.Diagnostic, virtualPath?: string, virtualName?: string): CodeDiagnostic {
  const compiler = typescriptCompiler();
  const category = (['warning', 'error', 'suggestion', 'message'] as const)[diagnostic.category] ?? 'error';
  const result: CodeDiagnostic = {
    code: diagnostic.code,
    category,
    message: compiler.flattenDiagnosticMessageText(diagnostic.messageText, '\n'),
  };
  if (diagnostic.file && diagnostic.start !== undefined) {
    const position = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    result.file = diagnostic.file.fileName === virtualPath ? (virtualName ?? diagnostic.file.fileName) : diagnostic.file.fileName;
    result.line = position.line + 1;
    result.column = position.character + 1;
  }
  return result;
}

/** Formats diagnostics one per line as `file:line:column - error TS2322: message`. */
export function formatDiagnostics(diagnostics: readonly CodeDiagnostic[]): string {
  return diagnostics
    .map((diagnostic) => {
      const where = diagnostic.file ? `${diagnostic.file}:${diagnostic.line}:${diagnostic.column} - ` : '';
      return `${where}${diagnostic.category} TS${diagnostic.code}: ${diagnostic.message}`;
    })
    .join('\n');
}
