/**
 * `@codestack/orchestrator/local`: the bridge to local models. It adapts `@codestack/runtime`
 * models (with `@codestack/tuning` adapters) to the `LanguageModel` contract, loads checkpoints and
 * the bundled model of `@codestack/model-base`, and provides the AI SDK provider. Those packages
 * are optional peer dependencies of the orchestrator: install them when you import this entry.
 *
 * @packageDocumentation
 */
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
