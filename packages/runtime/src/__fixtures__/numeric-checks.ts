import type { Runtime } from '../backend/runtime.js';
import type { WasmKernels } from '../kernels/wasm-kernels.js';
import { LlamaModel } from '../model/llama-model.js';
import type { ModelConfig } from '../model/model-config.js';
import { crossEntropyLoss } from '../ops/cross-entropy.js';
import { computeGradients } from '../training/compute-gradients.js';

/** The largest absolute difference between two arrays, entry by entry (over `left`'s length). */
export function maximumDifference(left: ArrayLike<number>, right: ArrayLike<number>): number {
  let worst = 0;
  for (let index = 0; index < left.length; index++) worst = Math.max(worst, Math.abs((left[index] as number) - (right[index] as number)));
  return worst;
}

/**
 * Waits (up to 10 s) until `threads` threads take split kernel calls: the helpers start on the
 * first large split call, which the calling thread makes alone until they are up. Returns the
 * count reached, for the test to check.
 */
export async function helperThreadsReady(kernels: WasmKernels, threads: number): Promise<number> {
  for (let waited = 0; kernels.gemmThreads < threads && waited < 10_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  return kernels.gemmThreads;
}

/** Small, but with matMuls large enough (hidden 64, 4×32 rows) for XNNPACK to split over threads. */
export const smallModelConfig: ModelConfig = {
  vocabularySize: 96,
  hiddenSize: 64,
  layers: 2,
  attentionHeads: 4,
  keyValueHeads: 2,
  feedForwardSize: 176,
  maximumContext: 64,
  ropeTheta: 10000,
  normEpsilon: 1e-5,
  tiedEmbeddings: true,
};

const ids = Array.from({ length: 4 }, (_, row) => Array.from({ length: 32 }, (_, column) => (row * 31 + column * 7) % smallModelConfig.vocabularySize));

/** Logits and every weight's gradient of the next-token loss, as plain arrays; leaves no tensor behind. */
export function forwardAndGradients(runtime: Runtime): { logits: Float32Array; gradients: Map<string, Float32Array>; leaked: number } {
  const { tf } = runtime;
  const before = tf.memory().numTensors;
  const model = LlamaModel.create(runtime, smallModelConfig, { seed: 7 });
  const logitsTensor = model.logits(ids);
  const logits = logitsTensor.dataSync() as Float32Array;
  logitsTensor.dispose();
  // The next-token loss the trainer uses.
  const inputs = tf.tensor2d(ids.map((row) => row.slice(0, -1)), undefined, 'int32');
  const targets = tf.tensor1d(ids.flatMap((row) => row.slice(1)), 'int32');
  const { gradients } = computeGradients(tf, model.trainableVariables(), () => crossEntropyLoss(tf, model.logitsFlat(inputs), targets));
  inputs.dispose();
  targets.dispose();
  const values = new Map<string, Float32Array>();
  for (const [name, gradient] of gradients) {
    values.set(name, gradient.dataSync() as Float32Array);
    gradient.dispose();
  }
  model.dispose();
  return { logits, gradients: values, leaked: tf.memory().numTensors - before };
}
