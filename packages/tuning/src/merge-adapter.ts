import type * as tfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@codestack/core';
import { matMul2d, type LlamaModel } from '@codestack/runtime';
import type { Adapter } from './adapter.js';
import { AdapterStateError } from './adapter-state-error.js';

type Tensor2D = tfCore.Tensor2D;

const mergedByModel = new WeakMap<LlamaModel, Adapter[]>();

/** The adapters merged into `model`, oldest first. */
export function mergedAdapters(model: LlamaModel): readonly Adapter[] {
  return mergedByModel.get(model) ?? [];
}

/**
 * Folds `adapter` into `model`'s base weights, so the model computes the adapted output with no
 * hook and no extra cost: LoRA adds `scale * A @ B` to each weight ([in, out] in memory, so no
 * transpose is needed); IA3 multiplies each weight's columns and its bias (or, for
 * feed-forward modules, its rows) by the learned vector, as PEFT's merge does. Undo with {@link unmergeAdapter}.
 *
 * Throws {@link AdapterStateError} when the adapter is disposed or already merged, and
 * {@link InvalidArgumentError} when it does not fit the model.
 */
export function mergeAdapter(model: LlamaModel, adapter: Adapter): void {
  adapter.assertUsable();
  if (adapter.mergedInto !== undefined) throw new AdapterStateError({ message: `adapter ${adapter.name} is already merged` });
  if (!adapter.fits(model)) throw new InvalidArgumentError({ argument: 'adapter', message: `adapter ${adapter.name} does not fit this model's shape` });
  model.runtime.assertActive();
  applyToWeights(model, adapter, 'merge');
  adapter.mergedInto = model;
  mergedByModel.set(model, [...mergedAdapters(model), adapter]);
}

/**
 * Removes a merged adapter from `model`'s weights (LoRA subtracts `scale * A @ B`, IA3 divides
 * by its vector), restoring the base up to float32 rounding. Adapters must be unmerged in the
 * reverse order of merging; otherwise, or when `adapter` is not merged into `model`, it throws
 * {@link AdapterStateError}.
 */
export function unmergeAdapter(model: LlamaModel, adapter: Adapter): void {
  const merged = mergedAdapters(model);
  if (adapter.mergedInto !== model || !merged.includes(adapter)) {
    throw new AdapterStateError({ message: `adapter ${adapter.name} is not merged into this model` });
  }
  if (merged[merged.length - 1] !== adapter) {
    throw new AdapterStateError({ message: `unmerge ${merged[merged.length - 1]?.name ?? ''} first: adapters are unmerged in reverse merge order` });
  }
  model.runtime.assertActive();
  applyToWeights(model, adapter, 'unmerge');
  adapter.mergedInto = undefined;
  mergedByModel.set(model, merged.slice(0, -1));
}

function applyToWeights(model: LlamaModel, adapter: Adapter, direction: 'merge' | 'unmerge'): void {
  const tf = model.runtime.tf;
  const config = adapter.config;
  for (const module of adapter.modules.values()) {
    const weight = model.getWeight(module.weightName);
    tf.tidy(() => {
      let updated: tfCore.Tensor;
      if (config.method === 'lora') {
        const delta = tf.mul(matMul2d(tf, module.loraA as unknown as Tensor2D, module.loraB as unknown as Tensor2D), config.scale);
        updated = direction === 'merge' ? tf.add(weight, delta) : tf.sub(weight, delta);
      } else {
        const vector = module.ia3Scale as tfCore.Variable;
        const scale = module.scalesInput ? tf.reshape(vector, [module.inputSize, 1]) : tf.reshape(vector, [1, module.outputSize]);
        updated = direction === 'merge' ? tf.mul(weight, scale) : tf.div(weight, scale);
        // PEFT's forward scales the whole output, bias included (Qwen2's q/k/v biases), so the merge scales the bias too.
        const bias = model.weights.get(module.weightName.replace(/weight$/, 'bias'));
        if (bias !== undefined && !module.scalesInput) bias.assign(direction === 'merge' ? tf.mul(bias, vector) : tf.div(bias, vector));
      }
      weight.assign(updated);
    });
  }
}
