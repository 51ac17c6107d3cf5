import { InvalidArgumentError, throwIfAborted, type Tokenizer } from '@codestack/core';
import type { LlamaModel } from '../model/llama-model.js';
import type { KeyValueCache } from '../model/key-value-cache.js';
import {
  RepetitionPenaltyProcessor,
  TemperatureProcessor,
  TopKProcessor,
  TopPProcessor,
  type LogitsProcessor,
} from './logits-processors.js';
import { GreedySampler, MultinomialSampler, type Sampler } from './samplers.js';
import { SeededRandom } from '../random/seeded-random.js';
import {
  EndOfSequenceCriterion,
  MaximumTokensCriterion,
  StopSequenceCriterion,
  type FinishReason,
  type StoppingCriterion,
} from './stopping-criteria.js';
import { TextStreamer } from './text-streamer.js';

/** Options of {@link generate} and {@link streamGenerate}. */
export interface GenerationOptions {
  /** The most tokens to generate per sequence. Default 32. */
  maximumNewTokens?: number;
  /** Sampling temperature; `0` or absent with no topK/topP means greedy decoding. */
  temperature?: number;
  /** Keep only the k most likely tokens before sampling. */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches topP before sampling. */
  topP?: number;
  /** Penalise tokens already in the prompt or output (> 1 discourages repeats). */
  repetitionPenalty?: number;
  /** Seed of the sampling random generator (default 0): the same seed gives the same output. */
  seed?: number;
  /** Stop when the decoded text contains one of these; the text is cut before it. Needs `tokenizer`. */
  stopSequences?: readonly string[];
  /** Decodes tokens to text (for streaming text and stop sequences). */
  tokenizer?: Tokenizer;
  /** Token ids that end a sequence (kept as the last token). */
  endOfSequenceIds?: readonly number[];
  /** Cancels generation with `AbortedError`. */
  signal?: AbortSignal;
  /** Reuse keys and values of earlier positions (default true). `false` recomputes the whole context each step. */
  useCache?: boolean;
  /**
   * Extra logits processors, run after the built-in ones (repetition penalty, temperature, top-k,
   * top-p): they see the filtered logits, where a token cut by top-k or top-p is `-Infinity`.
   */
  logitsProcessors?: readonly LogitsProcessor[];
  /**
   * Processors that rewrite the model's next-token distribution itself, such as
   * `KnnLogitsProcessor` (the kNN-LM's `(1 − λ)·p_model + λ·p_kNN`): they run first, on the raw
   * logits of the forward pass, before the repetition penalty, temperature, top-k, top-p and
   * {@link logitsProcessors}. So the mixture is formed from the model's own distribution (at
   * temperature 1) and the sampling options then shape and filter the mixed distribution: a token
   * the neighbours bring in can survive top-k, and a token cut by top-k or top-p stays cut.
   */
  mixingProcessors?: readonly LogitsProcessor[];
  /** Replaces the sampler chosen from the options. */
  sampler?: Sampler;
  /** Extra stopping criteria, checked after the built-in ones. */
  stoppingCriteria?: readonly StoppingCriterion[];
  /**
   * Called for every unfinished sequence at every step, before the logits processors, with the
   * final hidden state of the position being predicted and its raw logits (both from the one
   * forward pass of the step; copy them to keep them, the processors rewrite `logits` after).
   * Giving it makes each step read the hidden states back too.
   */
  onStep?: (step: GenerationStep) => void;
}

/** What {@link GenerationOptions.onStep} receives. */
export interface GenerationStep {
  /** The index of the sequence in the batch. */
  sequence: number;
  /** The prompt and the tokens generated so far. */
  previousIds: readonly number[];
  /** The final hidden state (after the final norm, the input of the output head), length `hiddenSize`. */
  hiddenState: Float32Array;
  /** The next-token logits before the processors, length `vocabularySize`. */
  logits: Float32Array;
}

/** One generated token of a stream. */
export interface GenerationChunk {
  /** The index of the sequence in the batch (always 0 for {@link streamGenerate}). */
  sequence: number;
  /** The token id. */
  token: number;
  /** Text that became final with this token ('' without a tokenizer, or while held back). */
  text: string;
}

/** The result of one sequence. */
export interface GenerationResult {
  /** Generated token ids (without the prompt). */
  tokens: number[];
  /** The generated text (cut before a stop sequence), when a tokenizer was given. */
  text: string | undefined;
  /** Why generation stopped. */
  finishReason: FinishReason;
}

/**
 * The logits processors for `options`, in the order they run: the
 * {@link GenerationOptions.mixingProcessors}, then the built-in ones in Hugging Face order
 * (repetition penalty, temperature, top-k, top-p), then {@link GenerationOptions.logitsProcessors}.
 */
export function createLogitsProcessors(options: GenerationOptions): LogitsProcessor[] {
  const processors: LogitsProcessor[] = [...(options.mixingProcessors ?? [])];
  if (options.repetitionPenalty !== undefined && options.repetitionPenalty !== 1) processors.push(new RepetitionPenaltyProcessor(options.repetitionPenalty));
  if (options.temperature !== undefined && options.temperature !== 0 && options.temperature !== 1) processors.push(new TemperatureProcessor(options.temperature));
  if (options.topK !== undefined) processors.push(new TopKProcessor(options.topK));
  if (options.topP !== undefined) processors.push(new TopPProcessor(options.topP));
  processors.push(...(options.logitsProcessors ?? []));
  return processors;
}

/** The sampler for `options`: greedy when temperature is 0/absent and no topK/topP, otherwise seeded multinomial. */
export function createSampler(options: GenerationOptions): Sampler {
  if (options.sampler !== undefined) return options.sampler;
  if (options.temperature !== undefined && options.temperature < 0) {
    throw new InvalidArgumentError({ argument: 'temperature', message: `expected a non-negative number, got ${options.temperature}` });
  }
  const greedy = (options.temperature === undefined || options.temperature === 0) && options.topK === undefined && options.topP === undefined;
  return greedy ? new GreedySampler() : new MultinomialSampler(new SeededRandom(options.seed ?? 0));
}

/** The built-in stopping criteria for `options`. */
export function createStoppingCriteria(options: GenerationOptions): StoppingCriterion[] {
  const criteria: StoppingCriterion[] = [new MaximumTokensCriterion(options.maximumNewTokens ?? 32)];
  if (options.endOfSequenceIds !== undefined && options.endOfSequenceIds.length > 0) criteria.push(new EndOfSequenceCriterion(options.endOfSequenceIds));
  if (options.stopSequences !== undefined && options.stopSequences.length > 0) {
    if (options.tokenizer === undefined) throw new InvalidArgumentError({ argument: 'tokenizer', message: 'stopSequences need a tokenizer to decode text' });
    criteria.push(new StopSequenceCriterion(options.stopSequences));
  }
  criteria.push(...(options.stoppingCriteria ?? []));
  return criteria;
}

interface SequenceState {
  ids: number[];
  generated: number[];
  /** The text stage, when a tokenizer was given. */
  streamer: TextStreamer | undefined;
  finishReason: FinishReason | undefined;
}

function validatePrompts(model: LlamaModel, prompts: readonly (readonly number[])[]): void {
  if (!Array.isArray(prompts) || prompts.length === 0) throw new InvalidArgumentError({ argument: 'prompts', message: 'expected at least one prompt' });
  const length = prompts[0]?.length ?? 0;
  if (length === 0) throw new InvalidArgumentError({ argument: 'prompts', message: 'a prompt needs at least one token' });
  for (const prompt of prompts) {
    if (prompt.length !== length) throw new InvalidArgumentError({ argument: 'prompts', message: 'every prompt of a batch must have the same length' });
    for (const id of prompt) {
      if (!Number.isInteger(id) || id < 0 || id >= model.config.vocabularySize) {
        throw new InvalidArgumentError({ argument: 'prompts', message: `token id ${id} is outside [0, ${model.config.vocabularySize})` });
      }
    }
  }
  if (length >= model.config.maximumContext) {
    throw new InvalidArgumentError({ argument: 'prompts', message: `a prompt of ${length} tokens leaves no room in maximumContext ${model.config.maximumContext}` });
  }
}

/**
 * Generates continuations of equal-length `prompts` together, yielding every new token as it is
 * chosen. The pipeline per step is: model logits -> logits processors -> sampler -> text stage
 * ({@link TextStreamer}: decodes the new token only, holds back split characters and what stopping
 * criteria declare with `holdBackCharacters`) -> stopping criteria. Tensors are disposed by hand
 * (no `tf.tidy` across `await`), also on abort or error.
 */
export async function* generateTokens(
  model: LlamaModel,
  prompts: readonly (readonly number[])[],
  options: GenerationOptions = {},
): AsyncGenerator<GenerationChunk, GenerationResult[]> {
  validatePrompts(model, prompts);
  const processors = createLogitsProcessors(options);
  const sampler = createSampler(options);
  const criteria = createStoppingCriteria(options);
  const tokenizer = options.tokenizer;
  const useCache = options.useCache ?? true;
  const vocabulary = model.config.vocabularySize;
  const hiddenSize = model.config.hiddenSize;
  const wantsHiddenStates = options.onStep !== undefined || processors.some((processor) => processor.needsHiddenState === true);
  const states: SequenceState[] = prompts.map((prompt) => ({
    ids: [...prompt],
    generated: [],
    streamer: tokenizer === undefined ? undefined : new TextStreamer(tokenizer, criteria),
    finishReason: undefined,
  }));
  const cache: KeyValueCache | undefined = useCache ? model.createCache(prompts.length) : undefined;
  try {
    let input: number[][] = states.map((state) => state.ids);
    while (states.some((state) => state.finishReason === undefined)) {
      throwIfAborted(options.signal, 'generation');
      let values: Float32Array;
      let hidden: Float32Array | undefined;
      if (wantsHiddenStates) {
        const forward = model.logitsWithHiddenStates(input, cache, { lastPositionOnly: true });
        try {
          [values, hidden] = (await Promise.all([forward.logits.data(), forward.hiddenStates.data()])) as [Float32Array, Float32Array];
        } finally {
          forward.logits.dispose();
          forward.hiddenStates.dispose();
        }
      } else {
        const logits = model.logits(input, cache, { lastPositionOnly: true });
        try {
          values = (await logits.data()) as Float32Array;
        } finally {
          logits.dispose();
        }
      }
      throwIfAborted(options.signal, 'generation');
      const chunks: GenerationChunk[] = [];
      for (const [sequence, state] of states.entries()) {
        if (state.finishReason !== undefined) {
          state.ids.push(state.ids[state.ids.length - 1] as number);
          continue;
        }
        const row = values.slice(sequence * vocabulary, (sequence + 1) * vocabulary);
        const hiddenState = hidden?.slice(sequence * hiddenSize, (sequence + 1) * hiddenSize);
        if (hiddenState !== undefined) options.onStep?.({ sequence, previousIds: state.ids, hiddenState, logits: row });
        for (const processor of processors) processor.process(row, state.ids, hiddenState === undefined ? undefined : { hiddenState });
        const token = sampler.sample(row);
        state.ids.push(token);
        state.generated.push(token);
        // The text stage decodes the new token only; criteria see the whole characters so far.
        state.streamer?.put([token]);
        let keepTextLength: number | undefined;
        for (const criterion of criteria) {
          const verdict = criterion.check({ generatedIds: state.generated, text: state.streamer?.text });
          if (verdict !== undefined) {
            state.finishReason = verdict.reason;
            keepTextLength = verdict.keepTextLength;
            break;
          }
        }
        if (state.finishReason === undefined && state.ids.length >= model.config.maximumContext) state.finishReason = 'context';
        const streamer = state.streamer;
        const text = streamer === undefined ? '' : state.finishReason !== undefined ? streamer.end(keepTextLength) : streamer.takeDelta();
        chunks.push({ sequence, token, text });
      }
      for (const chunk of chunks) yield chunk;
      input = useCache ? states.map((state) => [state.ids[state.ids.length - 1] as number]) : states.map((state) => state.ids);
    }
  } finally {
    cache?.dispose();
  }
  return states.map((state) => ({ tokens: state.generated, text: state.streamer?.text, finishReason: state.finishReason ?? 'length' }));
}

/**
 * Generates continuations of a batch of equal-length prompts and resolves with one result per
 * prompt.
 */
export async function generate(model: LlamaModel, prompts: readonly (readonly number[])[], options: GenerationOptions = {}): Promise<GenerationResult[]> {
  const iterator = generateTokens(model, prompts, options);
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) return next.value;
  }
}

/**
 * Streams the continuation of one prompt: an async iterator of {@link GenerationChunk}s (token id
 * and the text that became final with it). Breaking out of the loop or aborting releases every
 * tensor.
 */
export async function* streamGenerate(model: LlamaModel, prompt: readonly number[], options: GenerationOptions = {}): AsyncGenerator<GenerationChunk, GenerationResult> {
  const results = yield* generateTokens(model, [prompt], options);
  return results[0] as GenerationResult;
}
