import type { Tokenizer } from './tokenizer.js';

/** One message of a chat prompt. */
export interface LanguageModelMessage {
  /** Who speaks. */
  role: 'system' | 'user' | 'assistant';
  /** The message text. */
  content: string;
}

/**
 * A prompt: chat messages, or raw text for completion and fill-in-the-middle models. A model
 * that supports only one kind converts the other (a chat template, or one user message).
 */
export type LanguageModelPrompt = string | readonly LanguageModelMessage[];

/** Why generation stopped. */
export type LanguageModelFinishReason = 'stop' | 'length' | 'content-filter' | 'error' | 'other';

/** Token counts of one call. */
export interface LanguageModelUsage {
  /** Prompt tokens, when known. */
  inputTokens: number | undefined;
  /** Generated tokens, when known. */
  outputTokens: number | undefined;
}

/** The options of one model call, shared by `doGenerate` and `doStream`. */
export interface LanguageModelCallOptions {
  /** The prompt. */
  prompt: LanguageModelPrompt;
  /** The most tokens to generate. */
  maxOutputTokens?: number;
  /** Sampling temperature; 0 is greedy. */
  temperature?: number;
  /** Nucleus sampling mass. */
  topP?: number;
  /** Top-k sampling. */
  topK?: number;
  /** Generation stops before any of these strings. */
  stopSequences?: readonly string[];
  /** Seed for reproducible sampling. */
  seed?: number;
  /**
   * Options for a particular provider, keyed by provider name, such as
   * `{ codestack: { adapter: 'typescript-lora' } }`. Unknown keys are ignored.
   */
  providerOptions?: Record<string, Record<string, unknown>>;
  /** Cancels the call. */
  abortSignal?: AbortSignal;
}

/** The result of `doGenerate`. */
export interface LanguageModelGenerateResult {
  /** The generated text. */
  text: string;
  /** Why generation stopped. */
  finishReason: LanguageModelFinishReason;
  /** Token counts. */
  usage: LanguageModelUsage;
  /** Provider-specific details (such as the request id), keyed by provider name. */
  providerMetadata?: Record<string, Record<string, unknown>>;
}

/** One part of a streamed generation. */
export type LanguageModelStreamPart =
  /** More generated text. */
  | { type: 'text-delta'; delta: string }
  /** The end of the stream: always the last part of a successful stream. */
  | { type: 'finish'; finishReason: LanguageModelFinishReason; usage: LanguageModelUsage }
  /** A failure in the middle of the stream. */
  | { type: 'error'; error: unknown };

/** The result of `doStream`. */
export interface LanguageModelStreamResult {
  /** The parts, ending with `finish` (or `error`). */
  stream: ReadableStream<LanguageModelStreamPart>;
}

/**
 * The language-model contract of codestack, in the style of the AI SDK's provider
 * specification: a low-level `doGenerate` / `doStream` pair that friendly wrappers call. The
 * local runtime, OpenAI-compatible endpoints and AI SDK models are all adapted to it.
 */
export interface LanguageModel {
  /** The version of this contract. */
  readonly specificationVersion: 'codestack-v1';
  /** The provider, such as `codestack.local` or `openai-compatible`. */
  readonly provider: string;
  /** The model's id within its provider. */
  readonly modelId: string;
  /**
   * The model's context window in tokens (prompt and output together), when it knows it. Callers
   * derive their defaults (prompt budget, output length) from it; middleware passes it through.
   */
  readonly contextTokens?: number;
  /** The most output tokens one call may ask for, when the model knows it. */
  readonly maxOutputTokens?: number;
  /** The token ids that end generation, when the model knows them. */
  readonly endOfSequenceIds?: readonly number[];
  /** The tokenizer whose ids the model reads, when it carries one, so callers count tokens as the model does. */
  readonly tokenizer?: Tokenizer;
  /**
   * The tokens of `prompt` as the model receives it (chat messages rendered with its own template,
   * counted with its own tokenizer), when the model can tell. Prompt budgets measure the rendered
   * prompt with it, so a prompt that fits the budget fits the model.
   */
  countPromptTokens?(prompt: string | readonly LanguageModelMessage[]): number;
  /** Generates a whole answer. */
  doGenerate(options: LanguageModelCallOptions): Promise<LanguageModelGenerateResult>;
  /** Streams an answer. */
  doStream(options: LanguageModelCallOptions): Promise<LanguageModelStreamResult>;
}
