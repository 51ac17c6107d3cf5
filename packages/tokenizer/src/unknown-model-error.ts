import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.unknown-model';
const markerSymbol = Symbol.for(marker);

/** A model name is not known, or the model lacks what was asked of it (chat). Code: `UNKNOWN_MODEL`. */
export class UnknownModelError extends CodestackError {
  private readonly [markerSymbol] = true;

  /** The model name that was asked for. */
  readonly modelName: string;

  constructor({ modelName, message }: { modelName: string; message?: string }) {
    super({
      code: 'UNKNOWN_MODEL',
      message: message ?? `Unknown model or encoding '${modelName}'. Pass an encoding such as 'o200k_base' or a known OpenAI model name such as 'gpt-4o'.`,
    });
    this.name = 'UnknownModelError';
    this.modelName = modelName;
  }

  /** Whether `error` is an {@link UnknownModelError}, from any copy of this package. */
  static override isInstance(error: unknown): error is UnknownModelError {
    return CodestackError.hasMarker(error, marker);
  }
}
