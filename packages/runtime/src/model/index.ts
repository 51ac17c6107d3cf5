// The Llama-style decoder: its configuration, and the units it is composed of (attention, MLP, decoder layer, key/value cache).
export { validateModelConfig, headSize, weightShapes, parameterCount, toHuggingFaceConfig, fromHuggingFaceConfig, modelConfigLimits, type ModelConfig, type ModelArchitecture, type RopeScaling } from './model-config.js';
export { projectionNames, projectionWeightName, type ProjectionName, type LinearHook, type LinearHookContext } from './projection.js';
export {
  LlamaModel,
  type CreateModelOptions,
  type WeightData,
  type LogitsOptions,
} from './llama-model.js';
export { KeyValueCache } from './key-value-cache.js';
export { attention } from './attention.js';
export { mlp } from './mlp.js';
export { decoderLayer } from './decoder-layer.js';
export { type ForwardPass } from './forward-pass.js';
export { createRotaryTables, rotaryFrequencies, type RotaryTables } from './rotary-tables.js';
export { estimateModelMemory, assertModelFits, ModelTooLargeError, bytesPerWeight, wasmHeapBytes, type ModelMemoryEstimate, type ModelMemoryOptions } from './model-memory.js';
