export { runCli, cliUsage } from './run-cli.js';
export type { CliContext } from './cli-context.js';
export { resolveModel, resolveRetriever, outputTokens, modelOptions, type ModelValues } from './resolve-model.js';
