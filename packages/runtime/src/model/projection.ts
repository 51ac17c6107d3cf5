import type * as tfCore from '@tensorflow/tfjs-core';

/** The seven linear projections of a decoder layer, by their Hugging Face module names. */
export type ProjectionName = 'q_proj' | 'k_proj' | 'v_proj' | 'o_proj' | 'gate_proj' | 'up_proj' | 'down_proj';

/** The projections in Hugging Face order. */
export const projectionNames: readonly ProjectionName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/** The Hugging Face weight name of one projection, e.g. `model.layers.3.self_attn.q_proj.weight`. */
export function projectionWeightName(layer: number, projection: ProjectionName): string {
  const group = projection === 'gate_proj' || projection === 'up_proj' || projection === 'down_proj' ? 'mlp' : 'self_attn';
  return `model.layers.${layer}.${group}.${projection}.weight`;
}

/** What a {@link LinearHook} sees for one projection call. */
export interface LinearHookContext {
  /** The decoder layer index. */
  layer: number;
  /** Which projection. */
  projection: ProjectionName;
  /** The Hugging Face weight name, e.g. `model.layers.3.self_attn.q_proj.weight`. */
  weightName: string;
  /** The input rows, shape [tokens, in]. */
  input: tfCore.Tensor2D;
  /** The base weight in memory layout, shape [in, out] (the transpose of the Hugging Face [out, in]). */
  weight: tfCore.Variable;
  /** The base output `input @ weight`, shape [tokens, out]. */
  output: tfCore.Tensor2D;
}

/**
 * Replaces or wraps a projection's result (LoRA adds `input @ A @ B`, IA3 scales the output).
 * Called inside the forward pass (and inside gradient computation), for every layer and projection.
 * Return `context.output` to leave a projection unchanged. Tensors it creates are managed by the
 * surrounding `tf.tidy`/gradient scope.
 */
export type LinearHook = (context: LinearHookContext) => tfCore.Tensor2D;
