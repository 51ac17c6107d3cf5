import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';

/**
 * `Identity` on tfjs-wasm without a copy: the output shares the input's buffer (one more
 * reference), as tfjs-wasm's own `Reshape` and the cpu backend's `Identity` do. Tensors are
 * immutable, so sharing is safe.
 *
 * tfjs runs `Identity` for every tensor it saves for a gradient (it clones each one), and
 * tfjs-wasm's kernel copies the values: 243 copies per 1M-model training step, about 2-4% of it.
 */
const sharedIdentity: tfCore.KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as tfCore.TensorInfo;
  (backend as tfCore.KernelBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
};

/**
 * Replaces tfjs-wasm's copying `Identity` kernel with {@link sharedIdentity} (string tensors,
 * which the wasm heap does not hold, keep the original kernel). Registration is global to the
 * process, as tfjs's kernel registry is; calling it again is a no-op. Does nothing when the wasm
 * backend's kernels are not registered. Returns whether it replaced the kernel now.
 */
export function registerSharedIdentityKernel(tf: TensorFlow): boolean {
  const current = tf.getKernel('Identity', 'wasm');
  if (current === undefined || (current as { original?: unknown }).original !== undefined) return false;
  const original = current.kernelFunc;
  const kernelFunc: tfCore.KernelFunc = (args) => ((args.inputs.x as tfCore.TensorInfo).dtype === 'string' ? original(args) : sharedIdentity(args));
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc, original } as tfCore.KernelConfig);
  return true;
}
