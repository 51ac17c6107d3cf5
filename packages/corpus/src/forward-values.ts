import type { LlamaModel } from '@codestack/runtime';

/** The logits and final hidden states of one forward pass over `ids`, read to the host. */
export interface ForwardValues {
  /** [tokens × vocabulary], row-major. */
  logits: Float32Array;
  /** [tokens × hidden size], row-major. */
  hiddenStates: Float32Array;
}

/**
 * Runs `model` over one sequence and reads its logits and final hidden states (the keys of a kNN
 * datastore) to the host, disposing both tensors whatever happens.
 */
export async function readForwardValues(model: LlamaModel, ids: readonly number[]): Promise<ForwardValues> {
  const { logits, hiddenStates } = model.logitsWithHiddenStates([[...ids]]);
  try {
    const [logitValues, hiddenValues] = (await Promise.all([logits.data(), hiddenStates.data()])) as [Float32Array, Float32Array];
    return { logits: logitValues, hiddenStates: hiddenValues };
  } finally {
    logits.dispose();
    hiddenStates.dispose();
  }
}
