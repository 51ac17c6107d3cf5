import type ts from 'typescript';
import { typescriptCompiler } from './type-check/typescript-compiler.js';
import type { CodeDiagnostic } from './type-check/type-check.js';
import { toCodeDiagnostic } from './type-check/type-check.js';

/** What {@link transpileTypeScript} produced. */
export interface TranspileResult {
  /** The JavaScript (CommonJS unless `moduleType` is `module`). */
  code: string;
  /** Syntax errors found while stripping types (the output is still produced). */
  diagnostics: CodeDiagnostic[];
}

/**
 * Strips the types from TypeScript with the compiler API (`transpileModule`, no type check), to
 * run it in the sandbox. `import x from 'm'` becomes `require` for CommonJS.
 */
export function transpileTypeScript(code: string, { moduleType = 'commonjs' }: { moduleType?: 'commonjs' | 'module' } = {}): TranspileResult {
  const compiler = typescriptCompiler();
  const output = compiler.transpileModule(code, {
    reportDiagnostics: true,
    fileName: 'snippet.ts',
    compilerOptions: {
      target: compiler.ScriptTarget.ES2022,
      module: moduleType === 'module' ? compiler.ModuleKind.ESNext : compiler.ModuleKind.CommonJS,
      esModuleInterop: true,
      sourceMap: false,
    },
  });
  return {
    code: output.outputText,
    diagnostics: (output.diagnostics ?? []).map((diagnostic) => toCodeDiagnostic(diagnostic, 'snippet.ts', 'snippet.ts')),
  };
}
