import { InvalidArgumentError } from '@codestack/core';
import type { LlamaModel, SafetensorsTensor } from '@codestack/runtime';
import { Adapter } from './adapter.js';
import { IncompatibleAdaptersError } from './incompatible-adapters-error.js';

/** One term of a weighted adapter combination. */
export interface WeightedAdapter {
  /** A LoRA adapter. */
  adapter: Adapter;
  /** Its weight in the combination (any finite number; negative subtracts). */
  weight: number;
}

/**
 * A weighted linear combination of LoRA adapters that share rank, target modules and layers:
 * a new LoRA adapter whose change to every projection is exactly
 * `sum_i weight_i * scale_i * input @ A_i @ B_i`.
 *
 * It is exact (unlike averaging the A and B matrices, which adds cross terms): the A matrices
 * are stacked along the rank and each B is multiplied by `weight_i * scale_i`, so the result has
 * rank `n * r` and scale 1. Throws {@link IncompatibleAdaptersError} for adapters that are not
 * LoRA or differ in rank, targets, layers or model shape, and {@link InvalidArgumentError} for
 * an empty list or a non-finite weight.
 */
export function combineLoraAdapters(model: LlamaModel, terms: readonly WeightedAdapter[], options: { name?: string } = {}): Adapter {
  if (!Array.isArray(terms) || terms.length === 0) throw new InvalidArgumentError({ argument: 'terms', message: 'expected at least one adapter' });
  const first = terms[0]?.adapter as Adapter;
  const firstConfig = first.config;
  if (firstConfig.method !== 'lora') throw new IncompatibleAdaptersError({ message: `adapter ${first.name} is not a LoRA adapter` });
  for (const { adapter, weight } of terms) {
    if (typeof weight !== 'number' || !Number.isFinite(weight)) throw new InvalidArgumentError({ argument: 'terms', message: `weight of ${adapter.name} is not a finite number` });
    adapter.assertUsable();
    const config = adapter.config;
    if (config.method !== 'lora') throw new IncompatibleAdaptersError({ message: `adapter ${adapter.name} is not a LoRA adapter` });
    if (config.r !== firstConfig.r) throw new IncompatibleAdaptersError({ message: `adapter ${adapter.name} has rank ${config.r}, ${first.name} has ${firstConfig.r}` });
    if (config.targetModules.join() !== firstConfig.targetModules.join() || config.layers.join() !== firstConfig.layers.join()) {
      throw new IncompatibleAdaptersError({ message: `adapter ${adapter.name} targets other modules or layers than ${first.name}` });
    }
    if (!adapter.fits(model)) throw new IncompatibleAdaptersError({ message: `adapter ${adapter.name} does not fit this model` });
  }
  const r = firstConfig.r;
  const rank = r * terms.length;
  const exported = terms.map(({ adapter }) => adapter.exportTensors());
  const tensors = new Map<string, SafetensorsTensor>();
  for (const module of first.modules.values()) {
    const prefix = `base_model.model.${module.weightName.replace(/\.weight$/, '')}`;
    const a = new Float32Array(rank * module.inputSize);
    const b = new Float32Array(module.outputSize * rank);
    terms.forEach(({ adapter, weight }, term) => {
      const source = exported[term] as Map<string, SafetensorsTensor>;
      const sourceA = (source.get(`${prefix}.lora_A.weight`) as SafetensorsTensor).data; // [r, in]
      const sourceB = (source.get(`${prefix}.lora_B.weight`) as SafetensorsTensor).data; // [out, r]
      const factor = weight * (adapter.config.method === 'lora' ? adapter.config.scale : 1);
      a.set(sourceA, term * r * module.inputSize);
      for (let row = 0; row < module.outputSize; row++) {
        for (let column = 0; column < r; column++) b[row * rank + term * r + column] = (sourceB[row * r + column] as number) * factor;
      }
    });
    tensors.set(`${prefix}.lora_A.weight`, { shape: [rank, module.inputSize], data: a });
    tensors.set(`${prefix}.lora_B.weight`, { shape: [module.outputSize, rank], data: b });
  }
  const config = { ...firstConfig, r: rank, alpha: rank, useRsLora: false, dropout: 0, scale: 1 };
  return Adapter.fromTensors(model, config, tensors, { name: options.name ?? terms.map(({ adapter, weight }) => `${weight}*${adapter.name}`).join('+') });
}
