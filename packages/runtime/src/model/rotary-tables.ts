import { headSize, type ModelConfig } from './model-config.js';

/** Precomputed rotary position embedding angles of a model. */
export interface RotaryTables {
  /** cos(position * frequency_i), [maximumContext, head / 2]; see {@link rotaryFrequencies}. */
  cos: Float32Array;
  /** sin of the same angles. */
  sin: Float32Array;
}

/**
 * The inverse frequencies of the rotary embedding, `theta^(-2i/head)` for i < head / 2, rescaled
 * as `config.ropeScaling` says: `linear` divides them all by `factor`; `llama3` divides those with
 * a wavelength above `originalMaximumContext / lowFrequencyFactor` by `factor`, keeps those with a
 * wavelength below `originalMaximumContext / highFrequencyFactor`, and interpolates smoothly in
 * between (Hugging Face's `_compute_llama3_parameters`).
 */
export function rotaryFrequencies(config: ModelConfig): Float64Array {
  const head = headSize(config);
  const half = head / 2;
  const frequencies = new Float64Array(half);
  const scaling = config.ropeScaling;
  for (let index = 0; index < half; index++) {
    let frequency = Math.pow(config.ropeTheta, (-2 * index) / head);
    if (scaling?.type === 'linear') frequency /= scaling.factor;
    if (scaling?.type === 'llama3') {
      const wavelength = (2 * Math.PI) / frequency;
      const lowFrequencyWavelength = scaling.originalMaximumContext / scaling.lowFrequencyFactor;
      const highFrequencyWavelength = scaling.originalMaximumContext / scaling.highFrequencyFactor;
      if (wavelength > lowFrequencyWavelength) frequency /= scaling.factor;
      else if (wavelength >= highFrequencyWavelength) {
        const smooth = (scaling.originalMaximumContext / wavelength - scaling.lowFrequencyFactor) / (scaling.highFrequencyFactor - scaling.lowFrequencyFactor);
        frequency = ((1 - smooth) * frequency) / scaling.factor + smooth * frequency;
      }
    }
    frequencies[index] = frequency;
  }
  return frequencies;
}

/** The rotary tables for every position up to `config.maximumContext`. */
export function createRotaryTables(config: ModelConfig): RotaryTables {
  const frequencies = rotaryFrequencies(config);
  const half = frequencies.length;
  const cos = new Float32Array(config.maximumContext * half);
  const sin = new Float32Array(config.maximumContext * half);
  for (let position = 0; position < config.maximumContext; position++) {
    for (let index = 0; index < half; index++) {
      const angle = position * (frequencies[index] as number);
      cos[position * half + index] = Math.cos(angle);
      sin[position * half + index] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
