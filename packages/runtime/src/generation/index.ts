// Autoregressive generation: the decoding loop, logits processors, samplers, stopping criteria and fill-in-the-middle prompts.
export {
  RepetitionPenaltyProcessor,
  TemperatureProcessor,
  TopKProcessor,
  TopPProcessor,
  softmax,
  type LogitsProcessor,
  type LogitsProcessorStep,
} from './logits-processors.js';
export { KnnLogitsProcessor, knnDistribution, type KnnDatastore, type KnnNeighbour, type KnnLogitsProcessorOptions } from './knn-logits-processor.js';
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
  type GenerationStep,
} from './generate.js';
export { buildFillInTheMiddlePrompt, type FillInTheMiddleTokens } from './fill-in-the-middle.js';
export { TextStreamer } from './text-streamer.js';
