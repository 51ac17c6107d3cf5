import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';

/**
 * Additive causal mask for grouped queries, [groups * tokens, totalKeys]: rows are (group, token),
 * columns are key positions; a query at position `offset + token` sees keys up to itself (0) and
 * not after it (-1e9).
 */
export function causalMask(tf: TensorFlow, groups: number, tokens: number, offset: number, totalKeys: number): tfCore.Tensor2D {
  const values = new Float32Array(groups * tokens * totalKeys);
  for (let group = 0; group < groups; group++) {
    for (let token = 0; token < tokens; token++) {
      const row = (group * tokens + token) * totalKeys;
      for (let key = offset + token + 1; key < totalKeys; key++) values[row + key] = -1e9;
    }
  }
  return tf.tensor2d(values, [groups * tokens, totalKeys]);
}
