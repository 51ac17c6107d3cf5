import type * as tfCore from '@tensorflow/tfjs-core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { columnSums } from '../kernels/layout-kernels.js';

type Tensor = tfCore.Tensor;
type GradientMap = Record<string, () => Tensor>;
interface GradientDefinition {
  kernelName: string;
  inputsToSave?: string[];
  saveAllInputs?: boolean;
  outputsToSave?: boolean[];
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attributes: Record<string, unknown>) => GradientMap | (() => Tensor)[];
}

/** Sums `gradient` over the axes that broadcasting added to reach it from `shape`. */
function unbroadcast(tf: TensorFlow, gradient: Tensor, shape: number[]): Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, gradient.shape);
  if (axes.length === 0) return tf.reshape(gradient, shape);
  const leading = axes.every((axis, index) => axis === index) && axes.length < gradient.rank;
  if (leading) {
    // Summing leading axes is a transpose + reduction in tfjs; a ones-vector matMul is much faster.
    const rows = gradient.shape.slice(0, axes.length).reduce((product, size) => product * size, 1);
    const columns = gradient.size / rows;
    const matrix = tf.reshape(gradient, [rows, columns]) as tfCore.Tensor2D;
    // On codestack's wasm kernels one vectorised pass (the ones-vector matMul ran at 0.3 GFLOP/s there).
    const sums = columnSums(tf, matrix);
    return tf.reshape(sums ?? tf.matMul(tf.ones([1, rows]), matrix), shape);
  }
  return tf.reshape(tf.sum(gradient, axes), shape);
}

function keptShape(tf: TensorFlow, shape: number[], axis: unknown): number[] {
  const axes = tf.util.parseAxisParam((axis ?? null) as number | number[], shape);
  return shape.map((size, index) => (axes.includes(index) ? 1 : size));
}

function definitions(tf: TensorFlow): GradientDefinition[] {
  const single = (dy: Tensor | Tensor[]): Tensor => dy as Tensor;
  return [
    {
      kernelName: 'Add',
      inputsToSave: ['a', 'b'],
      gradFunc: (dy, [a, b]) => ({ a: () => unbroadcast(tf, single(dy), a!.shape), b: () => unbroadcast(tf, single(dy), b!.shape) }),
    },
    {
      kernelName: 'Sub',
      inputsToSave: ['a', 'b'],
      gradFunc: (dy, [a, b]) => ({ a: () => unbroadcast(tf, single(dy), a!.shape), b: () => unbroadcast(tf, tf.neg(single(dy)), b!.shape) }),
    },
    {
      kernelName: 'Multiply',
      inputsToSave: ['a', 'b'],
      gradFunc: (dy, [a, b]) => ({
        a: () => unbroadcast(tf, tf.mul(single(dy), b!), a!.shape),
        b: () => unbroadcast(tf, tf.mul(single(dy), a!), b!.shape),
      }),
    },
    {
      kernelName: 'RealDiv',
      inputsToSave: ['a', 'b'],
      gradFunc: (dy, [a, b]) => ({
        a: () => unbroadcast(tf, tf.div(single(dy), b!), a!.shape),
        b: () => unbroadcast(tf, tf.neg(tf.div(tf.mul(single(dy), a!), tf.square(b!))), b!.shape),
      }),
    },
    { kernelName: 'Neg', gradFunc: (dy) => ({ x: () => tf.neg(single(dy)) }) },
    { kernelName: 'Square', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.mul(single(dy), tf.mul(x!, 2)) }) },
    { kernelName: 'Sqrt', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.div(single(dy), tf.mul(tf.sqrt(x!), 2)) }) },
    { kernelName: 'Rsqrt', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.mul(single(dy), tf.mul(tf.pow(x!, -1.5), -0.5)) }) },
    { kernelName: 'Exp', outputsToSave: [true], gradFunc: (dy, [y]) => ({ x: () => tf.mul(single(dy), y!) }) },
    { kernelName: 'Log', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.div(single(dy), x!) }) },
    { kernelName: 'Sigmoid', outputsToSave: [true], gradFunc: (dy, [y]) => ({ x: () => tf.mul(single(dy), tf.mul(y!, tf.sub(1, y!))) }) },
    {
      kernelName: 'Softmax',
      outputsToSave: [true],
      gradFunc: (dy, [y], attributes) => {
        const product = tf.mul(single(dy), y!);
        return { logits: () => tf.sub(product, tf.mul(tf.sum(product, [attributes.dim as number], true), y!)) };
      },
    },
    {
      kernelName: 'Sum',
      inputsToSave: ['x'],
      gradFunc: (dy, [x], attributes) => ({ x: () => tf.mul(tf.reshape(single(dy), keptShape(tf, x!.shape, attributes.axis)), tf.ones(x!.shape)) }),
    },
    {
      kernelName: 'Mean',
      inputsToSave: ['x'],
      gradFunc: (dy, [x], attributes) => {
        const kept = keptShape(tf, x!.shape, attributes.axis);
        const count = x!.size / kept.reduce((product, size) => product * size, 1);
        return { x: () => tf.mul(tf.reshape(single(dy), kept), tf.fill(x!.shape, 1 / count)) };
      },
    },
    { kernelName: 'Reshape', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.reshape(single(dy), x!.shape) }) },
    { kernelName: 'Identity', gradFunc: (dy) => ({ x: () => tf.clone(single(dy)) }) },
    { kernelName: 'Cast', gradFunc: (dy) => ({ x: () => tf.clone(single(dy)) }) },
    {
      kernelName: 'Transpose',
      gradFunc: (dy, _saved, attributes) => {
        const permutation = attributes.perm as number[];
        const inverse = permutation.map((_, index) => permutation.indexOf(index));
        return { x: () => tf.transpose(single(dy), inverse) };
      },
    },
    {
      kernelName: 'Slice',
      inputsToSave: ['x'],
      gradFunc: (dy, [x], attributes) => {
        const [begin, size] = tf.slice_util.parseSliceParams(x!, attributes.begin as number[], attributes.size as number[]);
        const paddings = x!.shape.map((length, axis) => [begin![axis]!, length - begin![axis]! - size![axis]!] as [number, number]);
        return { x: () => tf.pad(single(dy), paddings) };
      },
    },
    {
      kernelName: 'SplitV',
      gradFunc: (dy, _saved, attributes) => ({ x: () => tf.concat(dy as Tensor[], attributes.axis as number) }),
    },
    {
      kernelName: 'Concat',
      saveAllInputs: true,
      gradFunc: (dy, saved, attributes) => {
        const axis = tf.util.parseAxisParam(attributes.axis as number, saved[0]!.shape)[0]!;
        const parts = tf.split(single(dy), saved.map((tensor) => tensor.shape[axis]!), axis);
        return parts.map((part) => () => part);
      },
    },
    {
      kernelName: 'Pack',
      gradFunc: (dy, _saved, attributes) => tf.unstack(single(dy), attributes.axis as number).map((part) => () => part),
    },
    {
      kernelName: 'Unpack',
      gradFunc: (dy, _saved, attributes) => ({ value: () => tf.stack(dy as Tensor[], attributes.axis as number) }),
    },
  ];
}

/**
 * Registers gradient functions for the kernels the model and trainer differentiate through,
 * for each kernel that has none yet.
 *
 * The Node build of `@tensorflow/tfjs-core` ships without gradient definitions (they live in the
 * `@tensorflow/tfjs` union package and `tfjs-node`). Registration is global to the process, as
 * tfjs's gradient registry is; kernels that already have a gradient keep it. Returns the names
 * registered now.
 */
export function registerMissingGradients(tf: TensorFlow): string[] {
  const registered: string[] = [];
  for (const definition of definitions(tf)) {
    if (tf.getGradient(definition.kernelName) !== undefined) continue;
    tf.registerGradient(definition as unknown as tfCore.GradConfig);
    registered.push(definition.kernelName);
  }
  return registered;
}
