/// <reference types="long" preserve="true" />
// The package's public API. Each concept lives in its own folder (backend, ops, model, generation, io,
// data, training, random); this list is what other packages may import.
export { createRuntime, backendOrder, type Runtime, type RuntimeOptions, type BackendName, type BackendRequest, type BackendAttempt, type ModuleLoader, type TensorFlow } from './backend/index.js';
export { BackendUnavailableError } from './backend/index.js';
export { BackendNotActiveError } from './backend/index.js';
export { defaultThreads, maximumWasmThreads, ThreadsUnavailableError, type ThreadsRequest, type KernelChoice } from './backend/index.js';
export { validateModelConfig, headSize, weightShapes, parameterCount, toHuggingFaceConfig, fromHuggingFaceConfig, modelConfigLimits, type ModelConfig, type ModelArchitecture, type RopeScaling } from './model/index.js';
export {
  LlamaModel,
  projectionNames,
  type ProjectionName,
  type LinearHook,
  type LinearHookContext,
  type CreateModelOptions,
  type WeightData,
  type LogitsOptions,
} from './model/index.js';
export { KeyValueCache } from './model/index.js';
export { estimateModelMemory, assertModelFits, ModelTooLargeError, bytesPerWeight, wasmHeapBytes, type ModelMemoryEstimate, type ModelMemoryOptions } from './model/index.js';
export { matMul2d, batchedMatMul, embeddingLookup, rotaryEmbedding } from './ops/index.js';
export { GradientWorker, workerFileUrl } from './training/index.js';
export { SeededRandom, type SeededRandomState } from './random/index.js';
export { float32ToFloat16Bits, float16BitsToFloat32, float32ToBfloat16Bits, bfloat16BitsToFloat32 } from './io/index.js';
export {
  encodeSafetensors,
  decodeSafetensors,
  writeSafetensors,
  readSafetensors,
  safetensorsHeaderLength,
  parseSafetensorsHeader,
  decodeSafetensorsValues,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type SafetensorsDtype,
  type SafetensorsTensor,
  type SafetensorsContent,
  type SafetensorsWriteOptions,
  type SafetensorsReadOptions,
} from './io/index.js';
export {
  saveModel,
  loadModel,
  readModelConfig,
  encodeModelFiles,
  checkpointFiles,
  maximumConfigBytes,
  type SaveModelOptions,
  type LoadModelOptions,
} from './io/index.js';
export {
  RepetitionPenaltyProcessor,
  TemperatureProcessor,
  TopKProcessor,
  TopPProcessor,
  softmax,
  type LogitsProcessor,
  type LogitsProcessorStep,
} from './generation/index.js';
export { KnnLogitsProcessor, knnDistribution, type KnnDatastore, type KnnNeighbour, type KnnLogitsProcessorOptions } from './generation/index.js';
export { GreedySampler, MultinomialSampler, type Sampler } from './generation/index.js';
export {
  MaximumTokensCriterion,
  EndOfSequenceCriterion,
  StopSequenceCriterion,
  type StoppingCriterion,
  type GenerationState,
  type FinishReason,
} from './generation/index.js';
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
  type GenerationStep,
} from './generation/index.js';
export { TextStreamer } from './generation/index.js';
export { buildFillInTheMiddlePrompt, type FillInTheMiddleTokens } from './generation/index.js';
export { registerMissingGradients } from './ops/index.js';
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
} from './data/index.js';
export { PackedDataset, type PackedDatasetOptions, type DataPosition, type TrainingBatch, type BatchSource } from './data/index.js';
export { AdamW, type AdamWOptions, type AdamWState } from './training/index.js';
export { warmupCosineSchedule, type LearningRateSchedule, type WarmupCosineOptions } from './training/index.js';
export { clipByGlobalNorm, globalNorm } from './training/index.js';
export { computeGradients, accumulateGradients, scaleGradients } from './training/index.js';
export { crossEntropyLoss } from './ops/index.js';
export {
  Trainer,
  trainerCheckpointFiles,
  type TrainerOptions,
  type TrainOptions,
  type TrainSummary,
  type StepResult,
  type LossFunction,
  type TrainingObserver,
  type EvaluationResult,
  type CheckpointEvent,
  TrainingFailedError,
} from './training/index.js';
