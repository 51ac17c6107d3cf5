/** Validation: `validateCode` (type check, then the sandboxed tests) and TypeScript transpilation. */
export { transpileTypeScript, type TranspileResult } from './transpile.js';
export { validateCode, type ValidateCodeOptions, type ValidationReport } from './validate-code.js';
