/// <reference types="long" preserve="true" />
export { createRuntime, backendOrder, type Runtime, type RuntimeOptions, type BackendName, type BackendRequest, type BackendAttempt, type ModuleLoader, type TensorFlow } from './runtime.js';
export { BackendUnavailableError } from './backend-unavailable-error.js';
export { BackendNotActiveError } from './backend-not-active-error.js';
export { validateModelConfig, headSize, weightShapes, parameterCount, toHuggingFaceConfig, fromHuggingFaceConfig, modelConfigLimits, type ModelConfig } from './model-config.js';
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
export { matMul2d, batchedMatMul, embeddingLookup, rotaryEmbedding } from './fast-ops.js';
export { GradientWorker, workerFileUrl } from './gradient-worker.js';
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
  type SafetensorsReadOptions,
} from './safetensors.js';
export {
  saveModel,
  loadModel,
  readModelConfig,
  encodeModelFiles,
  checkpointFiles,
  maximumConfigBytes,
  type SaveModelOptions,
  type LoadModelOptions,
} from './checkpoint.js';
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
export { registerMissingGradients } from './register-gradients.js';
export {
  writeTokenShard,
  readTokenShard,
  readTokenShardHeader,
  parseTokenShardHeader,
  listTokenShards,
  tokenShardExtension,
  tokenShardHeaderBytes,
  type TokenShardDtype,
  type TokenShardHeader,
} from './token-shards.js';
export { PackedDataset, type PackedDatasetOptions, type DataPosition, type TrainingBatch } from './packed-dataset.js';
export { AdamW, type AdamWOptions, type AdamWState } from './adamw.js';
export { warmupCosineSchedule, type LearningRateSchedule, type WarmupCosineOptions } from './learning-rate-schedule.js';
export { clipByGlobalNorm, globalNorm } from './gradient-clipping.js';
export { computeGradients, accumulateGradients, scaleGradients } from './compute-gradients.js';
export { crossEntropyLoss } from './cross-entropy.js';
export {
  Trainer,
  trainerCheckpointFiles,
  type TrainerOptions,
  type TrainOptions,
  type TrainSummary,
  type StepResult,
  type LossFunction,
} from './trainer.js';
