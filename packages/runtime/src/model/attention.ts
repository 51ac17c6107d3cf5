import type * as tfCore from '@tensorflow/tfjs-core';
import { batchedMatMul } from '../ops/batched-mat-mul.js';
import { causalAttention } from '../kernels/causal-attention.js';
import { headsLayout } from '../kernels/layout-kernels.js';
import { rotaryEmbedding, type RotaryLayout } from '../ops/rotary-embedding.js';
import type { ForwardPass } from './forward-pass.js';
import { headSize } from './model-config.js';

type Tensor = tfCore.Tensor;
type Tensor2D = tfCore.Tensor2D;

/** Reshape then transpose; with one token per sequence the transpose only moves size-1 axes, so a reshape does it. */
function permute(pass: ForwardPass, input: Tensor, shape: number[], permutation: number[]): Tensor {
  const tf = pass.tf;
  return pass.tokens === 1 ? tf.reshape(input, permutation.map((axis) => shape[axis] as number)) : tf.transpose(tf.reshape(input, shape), permutation);
}

/**
 * [batch * tokens, heads * head] to [batch, heads, tokens, head] (`toHeads`) or back: one kernel of
 * codestack's own each way where they are bound and there is more than one token, else
 * {@link permute}.
 */
function moveHeads(pass: ForwardPass, input: Tensor, heads: number, toHeads: boolean): Tensor {
  const { tf, batch, tokens, differentiable } = pass;
  const head = headSize(pass.config);
  const moved = tokens === 1 ? undefined : headsLayout(tf, input, { batch, tokens, heads, head }, toHeads, differentiable);
  if (moved !== undefined) return moved;
  return toHeads
    ? permute(pass, input, [batch, tokens, heads, head], [0, 2, 1, 3])
    : tf.reshape(permute(pass, input, [batch, heads, tokens, head], [0, 2, 1, 3]), [batch * tokens, heads * head]);
}

/**
 * Causal grouped-query self-attention of one decoder layer (`self_attn`): projects `normed`
 * ([batch * tokens, hidden]) to queries, keys and values (plus their biases; with
 * `queryKeyNorm`, RMSNorm per head on queries and keys), rotates queries and keys, appends keys
 * and values to the cache, attends, and returns the output projection ([batch * tokens, hidden]).
 */
export function attention(pass: ForwardPass, layer: number, normed: Tensor2D): Tensor2D {
  const { tf, config, batch, tokens, offset, differentiable, rotary } = pass;
  const head = headSize(config);
  const groups = config.attentionHeads / config.keyValueHeads;
  const keyValueHeads = config.keyValueHeads;
  const totalKeys = offset + tokens;
  const scale = 1 / Math.sqrt(head);
  const rotate = (input: Tensor2D, layout: RotaryLayout, scaleBy = 1): Tensor =>
    rotaryEmbedding(tf, input, { batch, tokens, offset, head, cos: rotary.cos, sin: rotary.sin, scale: scaleBy, layout }, differentiable);

  let query = pass.project(normed, layer, 'q_proj');
  let key = pass.project(normed, layer, 'k_proj');
  if (config.queryKeyNorm === true) {
    // Qwen3: RMSNorm over each head's values, before the rotary embedding.
    const rows = batch * tokens;
    query = tf.reshape(pass.normalize(tf.reshape(query, [rows * config.attentionHeads, head]), `model.layers.${layer}.self_attn.q_norm.weight`), [rows, config.attentionHeads * head]);
    key = tf.reshape(pass.normalize(tf.reshape(key, [rows * keyValueHeads, head]), `model.layers.${layer}.self_attn.k_norm.weight`), [rows, keyValueHeads * head]);
  }
  const value = pass.project(normed, layer, 'v_proj');
  // The rotary embedding (1/sqrt(head) folded into the queries) writes straight into the layouts
  // attention multiplies, so no transpose kernel runs: queries [batch, heads, tokens, head], which
  // is [batch, kvHeads, groups, tokens, head], and keys transposed, [batch, kvHeads, head, tokens],
  // so attention needs no transposed matMul.
  const rotatedQuery = rotate(query, 'heads', scale);
  let keyTransposed4 = rotate(key, 'headsTransposed') as tfCore.Tensor4D;
  let value4 = moveHeads(pass, value, keyValueHeads, true) as tfCore.Tensor4D;
  if (pass.cache !== undefined) [keyTransposed4, value4] = pass.cache.append(tf, layer, keyTransposed4, value4);
  const slices = batch * keyValueHeads;
  const queries = tf.reshape(rotatedQuery, [slices, groups * tokens, head]) as tfCore.Tensor3D;
  const keysTransposed = tf.reshape(keyTransposed4, [slices, head, totalKeys]) as tfCore.Tensor3D;
  const values = tf.reshape(value4, [slices, totalKeys, head]) as tfCore.Tensor3D;
  // On codestack's wasm kernels: the whole of it in one kernel each way; otherwise tensor ops.
  let context = causalAttention(tf, queries, keysTransposed, values, groups, differentiable);
  if (context === undefined) {
    let scores = batchedMatMul(tf, queries, keysTransposed, differentiable);
    if (pass.mask !== undefined) scores = tf.add(scores, pass.mask);
    const probabilities = tf.softmax(scores) as tfCore.Tensor3D;
    context = batchedMatMul(tf, probabilities, values, differentiable);
  }
  // context [batch * kvHeads, groups * tokens, head] is [batch, heads, tokens, head] (head kv * groups + g).
  const merged = moveHeads(pass, context, config.attentionHeads, false) as Tensor2D;
  return pass.project(merged, layer, 'o_proj');
}
