import { CodestackError, InvalidArgumentError } from '@codestack/core';

const marker = 'codestack.error.prompt-too-long';
const markerSymbol = Symbol.for(marker);

/**
 * A prompt does not fit in the model's context window with the output reserved, and nothing may
 * be cut from it (the instruction alone is too long, or a model was handed a prompt longer than its
 * window). An `InvalidArgumentError` for the argument `prompt` (code `INVALID_ARGUMENT`, an HTTP
 * 400 from the OpenAI-compatible server), carrying the sizes.
 */
export class PromptTooLongError extends InvalidArgumentError {
  private readonly [markerSymbol] = true;

  /** The tokens of the prompt as the model would receive it. */
  readonly promptTokens: number;
  /** The model's context window in tokens. */
  readonly contextTokens: number;
  /** The tokens kept free for the output. */
  readonly reservedOutputTokens: number;

  constructor({ promptTokens, contextTokens, reservedOutputTokens, what }: { promptTokens: number; contextTokens: number; reservedOutputTokens: number; what: string }) {
    super({
      argument: 'prompt',
      message: `${what} takes ${promptTokens} tokens; with ${reservedOutputTokens} reserved for the output only ${Math.max(0, contextTokens - reservedOutputTokens)} of the ${contextTokens}-token context window are left`,
    });
    this.name = 'PromptTooLongError';
    this.promptTokens = promptTokens;
    this.contextTokens = contextTokens;
    this.reservedOutputTokens = reservedOutputTokens;
  }

  /** Whether `error` is a {@link PromptTooLongError}, from any copy of this package. */
  static override isInstance(error: unknown): error is PromptTooLongError {
    return CodestackError.hasMarker(error, marker);
  }
}
