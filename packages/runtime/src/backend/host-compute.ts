/**
 * Whether the TensorFlow.js backend named `tfjsBackend` (as `tf.getBackend()` reports it) keeps
 * tensor data in this process's memory, so that `dataSync()` is a copy (or free) rather than a
 * device-to-host transfer: the `wasm` and `cpu` backends. The JavaScript fast paths (the fused
 * decode step, the array KV cache, the AdamW loop) read tensors with `dataSync()` on every step
 * and are taken only then; on the `tensorflow` backends (tfjs-node and tfjs-node-gpu, whose data
 * lives in libtensorflow, on the GPU for tfjs-node-gpu) the work stays in tensor ops.
 */
export function computesOnHost(tfjsBackend: string | null | undefined): boolean {
  return tfjsBackend === 'wasm' || tfjsBackend === 'cpu';
}
