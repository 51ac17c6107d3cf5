export { createRuntime, backendOrder, type Runtime, type RuntimeOptions, type BackendName, type BackendRequest, type BackendAttempt, type ModuleLoader, type TensorFlow } from './runtime.js';
export { BackendUnavailableError } from './backend-unavailable-error.js';
export { BackendNotActiveError } from './backend-not-active-error.js';
export { validateModelConfig, headSize, weightShapes, parameterCount, toHuggingFaceConfig, fromHuggingFaceConfig, type ModelConfig } from './model-config.js';
export {
  LlamaModel,
  projectionNames,
  type ProjectionName,
  type LinearHook,
  type LinearHookContext,
  type CreateModelOptions,
  type WeightData,
  type LogitsOptions,
} from './llama-model.js';
export { KeyValueCache } from './key-value-cache.js';
export { matMul2d, batchedMatMul, embeddingLookup } from './fast-ops.js';
export { SeededRandom, type SeededRandomState } from './seeded-random.js';
export { float32ToFloat16Bits, float16BitsToFloat32 } from './float16.js';
export {
  encodeSafetensors,
  decodeSafetensors,
  writeSafetensors,
  readSafetensors,
  type SafetensorsDtype,
  type SafetensorsTensor,
  type SafetensorsContent,
  type SafetensorsWriteOptions,
} from './safetensors.js';
export { saveModel, loadModel, readModelConfig, checkpointFiles, type SaveModelOptions, type LoadModelOptions } from './checkpoint.js';
export {
  RepetitionPenaltyProcessor,
  TemperatureProcessor,
  TopKProcessor,
  TopPProcessor,
  softmax,
  type LogitsProcessor,
} from './logits-processors.js';
export { GreedySampler, MultinomialSampler, type Sampler } from './samplers.js';
export {
  MaximumTokensCriterion,
  EndOfSequenceCriterion,
  StopSequenceCriterion,
  type StoppingCriterion,
  type GenerationState,
  type FinishReason,
} from './stopping-criteria.js';
export {
  generate,
  generateTokens,
  streamGenerate,
  createLogitsProcessors,
  createSampler,
  createStoppingCriteria,
  type GenerationOptions,
  type GenerationChunk,
  type GenerationResult,
} from './generate.js';
export { buildFillInTheMiddlePrompt, type FillInTheMiddleTokens } from './fill-in-the-middle.js';
