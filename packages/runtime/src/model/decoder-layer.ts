import type * as tfCore from '@tensorflow/tfjs-core';
import { attention } from './attention.js';
import type { ForwardPass } from './forward-pass.js';
import { mlp } from './mlp.js';

/**
 * One pre-norm decoder layer: `x + attention(norm(x))`, then `x + mlp(norm(x))`, on
 * [batch * tokens, hidden] rows.
 */
export function decoderLayer(pass: ForwardPass, layer: number, hidden: tfCore.Tensor2D): tfCore.Tensor2D {
  const tf = pass.tf;
  const prefix = `model.layers.${layer}`;
  const attended = tf.add(hidden, attention(pass, layer, pass.normalize(hidden, `${prefix}.input_layernorm.weight`))) as tfCore.Tensor2D;
  return tf.add(attended, mlp(pass, layer, pass.normalize(attended, `${prefix}.post_attention_layernorm.weight`))) as tfCore.Tensor2D;
}
