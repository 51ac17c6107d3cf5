import { headSize, type ModelConfig } from './model-config.js';

/** Precomputed rotary position embedding angles of a model. */
export interface RotaryTables {
  /** cos(position * theta^(-2i/head)), [maximumContext, head / 2]. */
  cos: Float32Array;
  /** sin of the same angles. */
  sin: Float32Array;
}

/** The rotary tables for every position up to `config.maximumContext`. */
export function createRotaryTables(config: ModelConfig): RotaryTables {
  const half = headSize(config) / 2;
  const cos = new Float32Array(config.maximumContext * half);
  const sin = new Float32Array(config.maximumContext * half);
  for (let position = 0; position < config.maximumContext; position++) {
    for (let index = 0; index < half; index++) {
      const angle = position * Math.pow(config.ropeTheta, (-2 * index) / headSize(config));
      cos[position * half + index] = Math.cos(angle);
      sin[position * half + index] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
