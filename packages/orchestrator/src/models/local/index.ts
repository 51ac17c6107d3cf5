/** Local models on the codestack runtime: the language-model bridge, one-call loading and the AI SDK provider. Loads tfjs; reached through `@codestack/orchestrator/local`. */
export { createLocalLanguageModel, type LocalLanguageModelOptions, type LocalLanguageModel } from './local-language-model.js';
export {
  loadLocalModel,
  loadBundledModel,
  localModelFiles,
  type LoadLocalModelOptions,
  type LoadBundledModelOptions,
  type LoadedLocalModel,
} from './load-local-model.js';
export { createCodestack, type CodestackProvider, type CodestackProviderSettings, type CodestackModelSettings } from './codestack-provider.js';
