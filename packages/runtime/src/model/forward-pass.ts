import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import type { KeyValueCache } from './key-value-cache.js';
import type { ModelConfig } from './model-config.js';
import type { ProjectionName } from './projection.js';
import type { RotaryTables } from './rotary-tables.js';

/**
 * What every unit of one forward pass shares: the input's shape, the cache, the rotary tables,
 * the causal mask, and the model's projections and norms (weights looked up by name, the
 * {@link LinearHook} applied). {@link LlamaModel} builds one per call.
 */
export interface ForwardPass {
  /** The TensorFlow.js namespace. */
  readonly tf: TensorFlow;
  /** The model configuration. */
  readonly config: Readonly<ModelConfig>;
  /** Sequences in the batch. */
  readonly batch: number;
  /** New tokens per sequence. */
  readonly tokens: number;
  /** Position of the first new token (the cache length before the call). */
  readonly offset: number;
  /** Whether to record what gradients need (custom-gradient ops). */
  readonly differentiable: boolean;
  /** The key/value cache the new keys and values are appended to, if any. */
  readonly cache: KeyValueCache | undefined;
  /** Rotary position embedding tables. */
  readonly rotary: RotaryTables;
  /** The additive causal mask for the tensor path of attention; `undefined` with one token per sequence or where codestack's attention kernel runs (see `causalAttentionRuns`). */
  readonly mask: tfCore.Tensor2D | undefined;
  /** `input @ weight` of one projection of one layer, through the model's linear hook. */
  project(input: tfCore.Tensor2D, layer: number, projection: ProjectionName): tfCore.Tensor2D;
  /** RMSNorm with the named norm weight. */
  normalize(input: tfCore.Tensor2D, weightName: string): tfCore.Tensor2D;
}
