import type * as tfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@codestack/core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { rmsNormRows } from '../ops/rms-norm.js';
import { copyCachePositions, type KeyValueCache, type KeyValueStorage } from './key-value-cache.js';
import { headSize, type ModelConfig } from './model-config.js';
import { projectionWeightName, type ProjectionName } from './projection.js';
import type { RotaryTables } from './rotary-tables.js';
import { wasmKernelsFor, type WasmKernels } from '../kernels/wasm-kernels.js';

type Tensor = tfCore.Tensor;
type Tensor2D = tfCore.Tensor2D;

/** What {@link decodeStep} reads from a model. */
export interface DecodeStepModel {
  /** The TensorFlow.js namespace. */
  readonly tf: TensorFlow;
  /** The model configuration. */
  readonly config: Readonly<ModelConfig>;
  /** Rotary position embedding tables. */
  readonly rotary: RotaryTables;
  /** A weight by Hugging Face name (memory layout), or `undefined` when the model has none by that name. */
  weight(name: string): Tensor | undefined;
  /** The output head, [hidden, vocabulary]. */
  head(): Tensor2D;
}

/** The two products of a decode step that dominate it, computed by tfjs kernels or by codestack's own (see {@link decodeStep}). */
interface DecodeProducts {
  /** The embedding rows of `ids`, [batch, hidden]. */
  embed(ids: Int32Array): Float32Array;
  /** The logits of the final hidden states ([batch, hidden] as a tensor and its values). */
  logits(final: Tensor2D, values: Float32Array): Tensor2D;
  /** `rows` rows of `input` times a projection's weight, plus its bias. */
  project(input: Float32Array, rows: number, layer: number, projection: ProjectionName): Float32Array;
  /** Attention of the new position per sequence against the cache; see {@link attend}. */
  attend(query: Float32Array, storage: KeyValueStorage, slices: number, groups: number, head: number, capacity: number, total: number): Float32Array;
}

/**
 * Where {@link decodeStep} reports how long each part of a step took on codestack's wasm kernels,
 * while `record` is set: the runtime bench's decode profile (bench/kernel-profile.bench.ts) sets it
 * around one step, since such a step runs almost no tfjs kernels and `tf.profile` sees nothing of
 * its products. Parts: `embedding rows`,
 * `projections (matrix-vector)`, `attention over the cache`, `output head`; the rest of the step
 * (norms, rotary embedding, SwiGLU, residual sums, cache writes) is JavaScript around them.
 */
export const decodeStepTimer: { record: ((part: string, milliseconds: number) => void) | undefined } = { record: undefined };

/** `products` with each call timed into `record`. */
function timedProducts(products: DecodeProducts, record: (part: string, milliseconds: number) => void): DecodeProducts {
  const time = <Result>(part: string, work: () => Result): Result => {
    const start = performance.now();
    try {
      return work();
    } finally {
      record(part, performance.now() - start);
    }
  };
  return {
    embed: (ids) => time('embedding rows', () => products.embed(ids)),
    logits: (final, values) => time('output head', () => products.logits(final, values)),
    project: (...values) => time('projections (matrix-vector)', () => products.project(...values)),
    attend: (...values) => time('attention over the cache', () => products.attend(...values)),
  };
}

/** A projection's weight ([in, out]) and its bias, when it has one. */
function projectionTensors(model: DecodeStepModel, layer: number, projection: ProjectionName): { weight: Tensor2D; bias: Tensor | undefined } {
  const name = projectionWeightName(layer, projection);
  return { weight: model.weight(name) as Tensor2D, bias: model.weight(`${name.slice(0, -'weight'.length)}bias`) };
}

/** `rows` rows of `input` times a weight, plus its bias: one matMul kernel, the tensors released at once. */
function project(model: DecodeStepModel, input: Float32Array, rows: number, layer: number, projection: ProjectionName): Float32Array {
  const tf = model.tf;
  const { weight, bias } = projectionTensors(model, layer, projection);
  const inputTensor = tf.tensor2d(input, [rows, weight.shape[0]]);
  const product = tf.matMul(inputTensor, weight);
  const values = new Float32Array(product.dataSync() as Float32Array);
  inputTensor.dispose();
  product.dispose();
  if (bias !== undefined) {
    const biasValues = bias.dataSync() as Float32Array;
    const columns = weight.shape[1];
    for (let index = 0; index < values.length; index++) values[index] = (values[index] as number) + (biasValues[index % columns] as number);
  }
  return values;
}

/** `rows` rows of `input` times `weight` ([in, out], read in place) plus `bias`, on codestack's matrix-vector kernel. */
function multiply(kernels: WasmKernels, input: Float32Array, rows: number, weight: Tensor2D, bias: Tensor | undefined): Float32Array {
  const [inputs, outputs] = weight.shape;
  const scratch = kernels.scratch(rows * (inputs + outputs));
  const output = scratch + rows * inputs * 4;
  kernels.floats().set(input, scratch / 4);
  kernels.matrixVector(rows, inputs, outputs, scratch, kernels.offsetOf(weight), bias === undefined ? 0 : kernels.offsetOf(bias), output);
  return kernels.floats().slice(output / 4, output / 4 + rows * outputs);
}

/**
 * The products on codestack's own kernels, on tfjs-wasm's memory: the projections and the head on
 * {@link WasmKernels.matrixVector} (the native addon's one-row products where they are chosen,
 * else native/kernels.c), attention in native/kernels.c. The weights are read where they lie, so
 * nothing is repacked or copied per token (tfjs-wasm's matMul repacks
 * the weight on every call, which made a decode step's cost follow the weight size); the inputs
 * are copied into one scratch block, and the cache is attended in place when it lives in the same
 * memory (as `KeyValueCache.storage` with `tf` puts it).
 */
function kernelProducts(model: DecodeStepModel, kernels: WasmKernels): DecodeProducts {
  return {
    embed(ids) {
      const width = model.config.hiddenSize;
      const table = kernels.offsetOf(model.weight('model.embed_tokens.weight') as Tensor) / 4;
      const floats = kernels.floats();
      const rows = new Float32Array(ids.length * width);
      for (let row = 0; row < ids.length; row++) rows.set(floats.subarray(table + (ids[row] as number) * width, table + ((ids[row] as number) + 1) * width), row * width);
      return rows;
    },
    logits(final, values) {
      const head = model.head();
      return model.tf.tensor2d(multiply(kernels, values, final.shape[0], head, undefined), [final.shape[0], head.shape[1]]);
    },
    project(input, rows, layer, projection) {
      const { weight, bias } = projectionTensors(model, layer, projection);
      return multiply(kernels, input, rows, weight, bias);
    },
    attend(query, storage, slices, groups, head, capacity, total) {
      if (storage.keys.buffer === kernels.buffer) {
        // The cache lives in this memory (KeyValueCache.storage with tf): attend in place. The
        // offsets are read before the scratch is taken, which may grow the memory (and detach the views).
        const keys = storage.keys.byteOffset;
        const values = storage.values.byteOffset;
        const scratch = kernels.scratch(2 * query.length + groups * total);
        const out = scratch + query.length * 4;
        const scores = out + query.length * 4;
        kernels.floats().set(query, scratch / 4);
        kernels.decodeAttention(slices, groups, head, capacity, total, scratch, keys, values, scores, out);
        return kernels.floats().slice(out / 4, out / 4 + query.length);
      }
      // A cache in JavaScript arrays (made without tf, or moved out of an exhausted memory): the tensor path.
      return attend(model.tf, query, storage, slices, groups, head, capacity, total);
    },
  };
}

/** `values` with the rotary embedding of `position` applied per head in place (rotate_half convention), times `scale`. */
function rotate(values: Float32Array, start: number, head: number, position: number, rotary: RotaryTables, scale: number): void {
  const half = head / 2;
  const table = position * half;
  for (let index = 0; index < half; index++) {
    const cos = (rotary.cos[table + index] as number) * scale;
    const sin = (rotary.sin[table + index] as number) * scale;
    const first = values[start + index] as number;
    const second = values[start + index + half] as number;
    values[start + index] = first * cos - second * sin;
    values[start + index + half] = second * cos + first * sin;
  }
}

/**
 * Causal attention of one new position per sequence against the cache: per key/value head (a
 * "slice" of a sequence), the queries of its group ([slices, groups, head], which is the query
 * projection's own layout) times the cached keys ([slices, head, total], copied out of the cache
 * as whole rows) in one batched matMul, a softmax, and the weighted values ([slices, total,
 * head]) in a second batched matMul. Returns [batch, heads * head].
 */
function attend(tf: TensorFlow, query: Float32Array, storage: KeyValueStorage, slices: number, groups: number, head: number, capacity: number, total: number): Float32Array {
  const copied = { keys: new Float32Array(slices * head * total), values: new Float32Array(slices * total * head) };
  copyCachePositions(storage, capacity, 0, copied, total, 0, total, slices, head);
  const queryTensor = tf.tensor3d(query, [slices, groups, head]);
  const keyTensor = tf.tensor3d(copied.keys, [slices, head, total]);
  const valueTensor = tf.tensor3d(copied.values, [slices, total, head]);
  const scores = tf.matMul(queryTensor, keyTensor);
  // The softmax stays a (vectorised) kernel: JavaScript's Math.exp over every score cost more.
  const probabilities = tf.softmax(scores);
  const contextTensor = tf.matMul(probabilities, valueTensor);
  const context = new Float32Array(contextTensor.dataSync() as Float32Array);
  tf.dispose([queryTensor, keyTensor, valueTensor, scores, probabilities, contextTensor]);
  return context;
}

/** The products on tfjs kernels (every backend that computes on the host). */
function tensorProducts(model: DecodeStepModel): DecodeProducts {
  const tf = model.tf;
  return {
    embed(ids) {
      const idTensor = tf.tensor1d(ids, 'int32');
      const embedded = tf.gather(model.weight('model.embed_tokens.weight') as Tensor, idTensor);
      const rows = new Float32Array(embedded.dataSync() as Float32Array);
      tf.dispose([idTensor, embedded]);
      return rows;
    },
    logits: (final) => tf.matMul(final, model.head()),
    project: (input, rows, layer, projection) => project(model, input, rows, layer, projection),
    attend: (...values) => attend(tf, ...values),
  };
}

/**
 * One incremental decoding step (one new token per sequence) with the key/value cache written in
 * place: per layer, the seven projections (matrix-vector products) and attention (two batched
 * products and a softmax, or one kernel of codestack's) are the only kernels; the norms, the rotary embedding, SwiGLU and the
 * residual sums are JavaScript loops over a few hundred values. With a tensor per operation, per-kernel overhead
 * dominated a step (92 kernels for a 4-layer model). Every tensor it makes is released before it
 * returns, except the two results, which the caller owns: the final hidden states (after the final
 * norm, [batch, hidden]) and the logits ([batch, vocabulary]). Advances the cache by one position.
 * Throws {@link InvalidArgumentError} when the cache already holds `maximumContext` positions.
 *
 * On codestack's wasm kernels, the projections, the head and attention read the weights and the
 * cache in place in the backend's memory (attention is one kernel per layer); elsewhere it reads
 * them as JavaScript arrays. Either way it is for the `wasm` and `cpu` backends only
 * (`computesOnHost` in backend/host-compute.ts): on tfjs-node(-gpu) each read would be a
 * device-to-host transfer, and the model takes the tensor path there.
 */
export function decodeStep(model: DecodeStepModel, ids: Int32Array, cache: KeyValueCache): { final: Tensor2D; logits: Tensor2D } {
  const { tf, config, rotary } = model;
  const batch = ids.length;
  const width = config.hiddenSize;
  const head = headSize(config);
  const heads = config.attentionHeads;
  const keyValueHeads = config.keyValueHeads;
  const feedForward = config.feedForwardSize;
  const epsilon = config.normEpsilon;
  const position = cache.length;
  // A cache made with `new KeyValueCache(layers, batch)` has no maximum length, and past the
  // rotary tables (maximumContext positions) the step would read undefined and return NaN.
  if (position >= config.maximumContext) {
    throw new InvalidArgumentError({ argument: 'cache', message: `position ${position} is past maximumContext ${config.maximumContext}: the cache is full` });
  }
  if (cache.batchSize !== batch) throw new InvalidArgumentError({ argument: 'cache', message: `cache holds ${cache.batchSize} sequences, input has ${batch}` });
  const total = position + 1;
  const scale = 1 / Math.sqrt(head);
  const kernels = wasmKernelsFor(tf);
  const untimed: DecodeProducts = kernels === undefined ? tensorProducts(model) : kernelProducts(model, kernels);
  const record = decodeStepTimer.record;
  // Only codestack's products are timed: on the tensor path tf.profile sees their kernels already.
  const products = record === undefined || kernels === undefined ? untimed : timedProducts(untimed, record);
  const weightValues = (name: string): Float32Array => (model.weight(name) as Tensor).dataSync() as Float32Array;
  const norm = (input: Float32Array, rows: number, columns: number, name: string): Float32Array => {
    const output = new Float32Array(rows * columns);
    rmsNormRows(input, weightValues(name), rows, columns, epsilon, output);
    return output;
  };

  let hidden = products.embed(ids);
  for (let layer = 0; layer < config.layers; layer++) {
    const prefix = `model.layers.${layer}`;
    const normed = norm(hidden, batch, width, `${prefix}.input_layernorm.weight`);
    let query = products.project(normed, batch, layer, 'q_proj');
    let key = products.project(normed, batch, layer, 'k_proj');
    const value = products.project(normed, batch, layer, 'v_proj');
    if (config.queryKeyNorm === true) {
      query = norm(query, batch * heads, head, `${prefix}.self_attn.q_norm.weight`);
      key = norm(key, batch * keyValueHeads, head, `${prefix}.self_attn.k_norm.weight`);
    }
    for (let queryHead = 0; queryHead < batch * heads; queryHead++) rotate(query, queryHead * head, head, position, rotary, scale);
    const storage = cache.storage(layer, keyValueHeads, head, total, tf);
    const capacity = cache.allocatedLength;
    for (let slice = 0; slice < batch * keyValueHeads; slice++) {
      rotate(key, slice * head, head, position, rotary, 1);
      // keys [slice, head, capacity] (transposed), values [slice, capacity, head]
      for (let index = 0; index < head; index++) storage.keys[(slice * head + index) * capacity + position] = key[slice * head + index] as number;
      storage.values.set(value.subarray(slice * head, (slice + 1) * head), (slice * capacity + position) * head);
    }
    const context = products.attend(query, storage, batch * keyValueHeads, heads / keyValueHeads, head, capacity, total);
    const attended = products.project(context, batch, layer, 'o_proj');
    for (let index = 0; index < hidden.length; index++) attended[index] = (attended[index] as number) + (hidden[index] as number);
    hidden = attended;
    const normedAgain = norm(hidden, batch, width, `${prefix}.post_attention_layernorm.weight`);
    const gate = products.project(normedAgain, batch, layer, 'gate_proj');
    const up = products.project(normedAgain, batch, layer, 'up_proj');
    const activated = new Float32Array(batch * feedForward);
    for (let index = 0; index < activated.length; index++) {
      const gateValue = gate[index] as number;
      activated[index] = (gateValue / (1 + Math.exp(-gateValue))) * (up[index] as number);
    }
    const down = products.project(activated, batch, layer, 'down_proj');
    for (let index = 0; index < hidden.length; index++) down[index] = (down[index] as number) + (hidden[index] as number);
    hidden = down;
  }
  cache.advance(1);
  const finalValues = norm(hidden, batch, width, 'model.norm.weight');
  const final = tf.tensor2d(finalValues, [batch, width]);
  return { final, logits: products.logits(final, finalValues) };
}
