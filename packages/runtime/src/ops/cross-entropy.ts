import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { fusedCrossEntropy } from '../kernels/cross-entropy-kernel.js';

/**
 * Mean next-token cross-entropy of `logits` ([tokens, vocabulary]) against int32 `targets`
 * ([tokens]). On the `wasm` backend with codestack's kernels, one kernel each way (see
 * {@link fusedCrossEntropy}); elsewhere a log-softmax and a one-hot product rather than `gather`,
 * whose gradient needs a kernel that tfjs-wasm lacks.
 */
export function crossEntropyLoss(tf: TensorFlow, logits: tfCore.Tensor2D, targets: tfCore.Tensor1D): tfCore.Scalar {
  return tf.tidy(() => {
    const fused = fusedCrossEntropy(tf, logits, targets);
    if (fused !== undefined) return fused;
    const vocabulary = logits.shape[1];
    const logProbabilities = tf.logSoftmax(logits);
    const oneHot = tf.oneHot(targets, vocabulary);
    return tf.neg(tf.div(tf.sum(tf.mul(logProbabilities, oneHot)), targets.shape[0])) as tfCore.Scalar;
  });
}
