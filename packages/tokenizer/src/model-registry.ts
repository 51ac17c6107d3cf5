import { modelToEncodingMap } from 'gpt-tokenizer/mapping';
import * as modelSpecs from 'gpt-tokenizer/models';
import { InvalidArgumentError } from '@codestack/core';
import { type EncodingName, isEncodingName } from './encoding-registry.js';
import { UnknownModelError } from './unknown-model-error.js';

/** What is known about an OpenAI model. */
export interface ModelInfo {
  /** The model name as asked for, such as `gpt-4o`. */
  readonly modelName: string;
  /** The BPE encoding the model uses. */
  readonly encodingName: EncodingName;
  /** The context window in tokens, when published. */
  readonly contextWindow: number | undefined;
  /** The most output tokens per response, when published. */
  readonly maximumOutputTokens: number | undefined;
}

interface ModelSpecShape {
  context_window?: number;
  max_output_tokens?: number;
}

const defaultEncoding = 'o200k_base';
const specs = modelSpecs as unknown as Record<string, ModelSpecShape | undefined>;
const encodingByModel = modelToEncodingMap as Record<string, string | undefined>;

/**
 * Looks up a model's encoding and context window by name, from `gpt-tokenizer`'s model table.
 * Throws {@link UnknownModelError} (code `UNKNOWN_MODEL`) for a name it does not know.
 */
export function getModelInfo(modelName: string): ModelInfo {
  if (typeof modelName !== 'string') {
    throw new InvalidArgumentError({ argument: 'modelName', message: `expected a string, got ${typeof modelName}` });
  }
  const spec = Object.hasOwn(specs, modelName) ? specs[modelName] : undefined;
  // gpt-tokenizer lists the older models' encodings; every other model it knows uses o200k_base.
  const listed = Object.hasOwn(encodingByModel, modelName) ? encodingByModel[modelName] : undefined;
  const encodingName = listed ?? (spec === undefined ? undefined : defaultEncoding);
  if (encodingName === undefined || !isEncodingName(encodingName)) throw new UnknownModelError({ modelName });
  return {
    modelName,
    encodingName,
    contextWindow: spec?.context_window,
    maximumOutputTokens: spec?.max_output_tokens,
  };
}

/** The names of all models {@link getModelInfo} knows. */
export function listModelNames(): string[] {
  return [...new Set([...Object.keys(encodingByModel), ...Object.keys(specs)])].sort();
}
