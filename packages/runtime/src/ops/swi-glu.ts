import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { fusedSwiGlu } from '../kernels/swi-glu-kernel.js';
import { smallRowLimit } from './small-row-limit.js';

type Tensor2D = tfCore.Tensor2D;

/**
 * The SwiGLU activation `silu(gate) * up` of two [rows, width] tensors. Without gradients and with
 * at most {@link smallRowLimit} rows (incremental decoding), computed in JavaScript; otherwise,
 * where codestack's wasm kernels are bound, one fused kernel each way ({@link fusedSwiGlu}), and
 * elsewhere tfjs ops.
 */
export function swiGlu(tf: TensorFlow, gate: Tensor2D, up: Tensor2D, differentiable = true): Tensor2D {
  if (differentiable || gate.shape[0] > smallRowLimit) return fusedSwiGlu(tf, gate, up) ?? (tf.mul(tf.mul(gate, tf.sigmoid(gate)), up) as Tensor2D);
  const gates = gate.dataSync() as Float32Array;
  const ups = up.dataSync() as Float32Array;
  const output = new Float32Array(gates.length);
  for (let index = 0; index < gates.length; index++) {
    const value = gates[index] as number;
    output[index] = (value / (1 + Math.exp(-value))) * (ups[index] as number);
  }
  return tf.tensor2d(output, gate.shape);
}
