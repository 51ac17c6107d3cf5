import { InvalidArgumentError, throwIfAborted } from '@codestack/core';
import type { LlamaModel } from '@codestack/runtime';
import type { Adapter } from './adapter.js';
import { AdapterStateError } from './adapter-state-error.js';
import { batchTensors, maskedNegativeLogLikelihood } from './masked-loss.js';
import { buildWindows, type TokenData } from './training-data.js';

/** Options of {@link evaluatePerplexity}. */
export interface EvaluatePerplexityOptions {
  /** The model. */
  model: LlamaModel;
  /** Evaluate with this adapter installed (the model's hook is restored afterwards). Without it, the model runs as it is. */
  adapter?: Adapter;
  /** Held-out token sequences or prompt→completion pairs. */
  data: TokenData;
  /** UTF-8 byte count of the text the evaluated tokens came from; enables `bitsPerByte`. */
  byteCount?: number;
  /** Positions per window. Default `min(64, maximumContext)`. */
  sequenceLength?: number;
  /** Windows per forward pass. Default 8. */
  batchSize?: number;
  /** Cancels between batches. */
  signal?: AbortSignal;
}

/** Held-out quality figures. */
export interface PerplexityResult {
  /** Mean negative log-likelihood per predicted token, in nats. */
  loss: number;
  /** `exp(loss)`. */
  perplexity: number;
  /** Total bits over `byteCount` (undefined without `byteCount`). */
  bitsPerByte: number | undefined;
  /** Predicted tokens. */
  tokens: number;
}

/**
 * Mean loss, perplexity and bits per byte of `model` (optionally with `adapter`) on `data`.
 * Sequences are cut into consecutive windows of `sequenceLength`; every token after the first of
 * each window is predicted (for pairs, the completion tokens only). Bits per byte divide the
 * summed loss in bits by `byteCount`, so compare it across tokenizations.
 */
export async function evaluatePerplexity(options: EvaluatePerplexityOptions): Promise<PerplexityResult> {
  const { model, adapter } = options;
  const sequenceLength = options.sequenceLength ?? Math.min(64, model.config.maximumContext);
  if (sequenceLength > model.config.maximumContext) {
    throw new InvalidArgumentError({ argument: 'sequenceLength', message: `${sequenceLength} exceeds maximumContext ${model.config.maximumContext}` });
  }
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError({ argument: 'batchSize', message: 'expected a positive integer' });
  if (options.byteCount !== undefined && !(Number.isInteger(options.byteCount) && options.byteCount > 0)) {
    throw new InvalidArgumentError({ argument: 'byteCount', message: `expected a positive integer, got ${JSON.stringify(options.byteCount)}` });
  }
  const windows = buildWindows(options.data, sequenceLength, model.config.vocabularySize);
  adapter?.assertUsable();
  if (adapter?.mergedInto !== undefined) {
    throw new AdapterStateError({ message: `adapter ${adapter.name} is merged into a model; evaluate the model without it (or unmerge it first)` });
  }
  const tf = model.runtime.tf;
  const previousHook = model.linearHook;
  if (adapter !== undefined) model.linearHook = adapter.hook;
  let total = 0;
  let tokens = 0;
  try {
    for (let start = 0; start < windows.length; start += batchSize) {
      throwIfAborted(options.signal, 'evaluatePerplexity');
      const batch = batchTensors(model, windows.slice(start, start + batchSize));
      try {
        const loss = tf.tidy(() => maskedNegativeLogLikelihood(model, batch));
        total += loss.dataSync()[0] as number;
        loss.dispose();
        tokens += batch.learnedTokens;
      } finally {
        tf.dispose([batch.inputs, batch.targets, batch.mask]);
      }
      // Yield to the event loop so that an abort can arrive between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    if (adapter !== undefined) model.linearHook = previousHook;
  }
  const loss = total / tokens;
  return {
    loss,
    perplexity: Math.exp(loss),
    bitsPerByte: options.byteCount === undefined ? undefined : total / Math.LN2 / options.byteCount,
    tokens,
  };
}
