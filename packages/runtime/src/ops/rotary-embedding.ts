import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { rotaryKernel } from '../kernels/rotary-kernel.js';

type Tensor = tfCore.Tensor;
type Tensor2D = tfCore.Tensor2D;

/**
 * Where {@link rotaryEmbedding} writes its result: `rows` keeps the input's [batch * tokens, heads
 * * head]; `heads` is [batch, heads, tokens, head] and `headsTransposed` [batch, heads, head,
 * tokens], the layouts attention multiplies (queries, and keys kept transposed), so that no
 * transpose kernel runs before or after (in either direction of the gradient).
 */
export type RotaryLayout = 'rows' | 'heads' | 'headsTransposed';

/** Options of {@link rotaryEmbedding}. */
export interface RotaryOptions {
  /** Sequences in the input. */
  batch: number;
  /** Tokens per sequence. */
  tokens: number;
  /** Position of the first token. */
  offset: number;
  /** Size of one head (even). */
  head: number;
  /** cos table, [maximumContext, head / 2]. */
  cos: Float32Array;
  /** sin table, [maximumContext, head / 2]. */
  sin: Float32Array;
  /** Multiplies the result. Default 1. */
  scale?: number;
  /** Where the result goes. Default `rows`. */
  layout?: RotaryLayout;
}

interface RotaryShape {
  batch: number;
  tokens: number;
  offset: number;
  head: number;
  heads: number;
  scale: number;
  layout: RotaryLayout;
}

/**
 * Where element 0 of head `headIndex` of row `row` (= sequence * tokens + token) lies in
 * `layout`, and the distance between consecutive elements of that head.
 */
function headStart(shape: RotaryShape, row: number, headIndex: number): [start: number, stride: number] {
  const { tokens, head, heads, layout } = shape;
  if (layout === 'rows') return [(row * heads + headIndex) * head, 1];
  const sequence = Math.floor(row / tokens);
  const token = row - sequence * tokens;
  if (layout === 'heads') return [((sequence * heads + headIndex) * tokens + token) * head, 1];
  return [(sequence * heads + headIndex) * head * tokens + token, tokens];
}

/**
 * The rotation, from `values` in rows layout to `output` in `shape.layout` (direction 1), or its
 * inverse, from `shape.layout` back to rows (direction -1). A module function, so that V8
 * optimises it once rather than per call; each head's start and stride are found once, and the
 * inner loops run over plain offsets.
 */
function rotate(values: Float32Array, shape: RotaryShape, cos: Float32Array, sin: Float32Array, direction: 1 | -1): Float32Array {
  const { batch, tokens, offset, head, heads, scale } = shape;
  const half = head / 2;
  const output = new Float32Array(values.length);
  const sinScale = direction * scale;
  for (let row = 0; row < batch * tokens; row++) {
    const tableBase = (offset + (row % tokens)) * half;
    for (let headIndex = 0; headIndex < heads; headIndex++) {
      const rows = (row * heads + headIndex) * head;
      const [start, stride] = headStart(shape, row, headIndex);
      const highStart = start + half * stride;
      if (direction === 1) {
        // rows layout in, `layout` out
        for (let index = 0; index < half; index++) {
          const c = (cos[tableBase + index] as number) * scale;
          const s = (sin[tableBase + index] as number) * sinScale;
          const first = values[rows + index] as number;
          const second = values[rows + index + half] as number;
          output[start + index * stride] = first * c - second * s;
          output[highStart + index * stride] = second * c + first * s;
        }
      } else {
        // `layout` in, rows layout out
        for (let index = 0; index < half; index++) {
          const c = (cos[tableBase + index] as number) * scale;
          const s = (sin[tableBase + index] as number) * sinScale;
          const first = values[start + index * stride] as number;
          const second = values[highStart + index * stride] as number;
          output[rows + index] = first * c - second * s;
          output[rows + index + half] = second * c + first * s;
        }
      }
    }
  }
  return output;
}

/**
 * Rotary position embedding (Hugging Face `rotate_half` convention) on a [batch * tokens, heads *
 * head] projection output, as one custom op: `x * cos + rotate_half(x) * sin` per head, for
 * positions `offset .. offset + tokens - 1`. `cos`/`sin` are [maximumContext, head / 2] tables;
 * `scale` (default 1) multiplies the result (attention folds 1/sqrt(head) in here); `layout`
 * (default `rows`) says where the result goes (see {@link RotaryLayout}). The gradient is the
 * transposed rotation. On codestack's wasm kernels each way is one kernel, split between threads
 * on the threaded build; elsewhere it is computed in JavaScript.
 */
export function rotaryEmbedding(tf: TensorFlow, input: Tensor2D, options: RotaryOptions & { layout?: 'rows' }, differentiable?: boolean): Tensor2D;
export function rotaryEmbedding(tf: TensorFlow, input: Tensor2D, options: RotaryOptions & { layout: 'heads' | 'headsTransposed' }, differentiable?: boolean): tfCore.Tensor4D;
export function rotaryEmbedding(tf: TensorFlow, input: Tensor2D, options: RotaryOptions, differentiable?: boolean): Tensor;
export function rotaryEmbedding(tf: TensorFlow, input: Tensor2D, options: RotaryOptions, differentiable = true): Tensor {
  const { batch, tokens, offset, head, cos, sin } = options;
  const heads = input.shape[1] / head;
  const shape: RotaryShape = { batch, tokens, offset, head, heads, scale: options.scale ?? 1, layout: options.layout ?? 'rows' };
  const outputShape =
    shape.layout === 'rows' ? input.shape : shape.layout === 'heads' ? [batch, heads, tokens, head] : [batch, heads, head, tokens];
  const half = head / 2;
  const [passCos, passSin] = [cos.subarray(offset * half, (offset + tokens) * half), sin.subarray(offset * half, (offset + tokens) * half)];
  // One kernel where codestack's are bound, else JavaScript over a copy.
  const turn = (x: Tensor, direction: 1 | -1, resultShape: readonly number[]): Tensor =>
    rotaryKernel(tf, x, shape, direction, resultShape, passCos, passSin) ?? tf.tensor(rotate(x.dataSync() as Float32Array, shape, cos, sin, direction), [...resultShape]);
  if (!differentiable) return turn(input, 1, outputShape);
  const operation = tf.customGrad(((x: Tensor2D, save: (tensors: Tensor[]) => void) => {
    save([]);
    return { value: turn(x, 1, outputShape), gradFunc: (dy: Tensor) => [turn(dy, -1, x.shape)] };
  }) as never) as unknown as (x: Tensor2D) => Tensor;
  return operation(input);
}
