import type * as tfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@codestack/core';
import type { TensorFlow } from '../backend/tensorflow.js';
import { computesOnHost } from '../backend/host-compute.js';
import { adamWStep } from '../kernels/adamw-kernel.js';
import { wasmKernelsFor } from '../kernels/wasm-kernels.js';

type Tensor = tfCore.Tensor;
type Variable = tfCore.Variable;

/** Options of {@link AdamW}. */
export interface AdamWOptions {
  /** First-moment decay. Default 0.9. */
  beta1?: number;
  /** Second-moment decay. Default 0.95. */
  beta2?: number;
  /** Added to the denominator. Default 1e-8. */
  epsilon?: number;
  /** Decoupled weight decay. Default 0.1. */
  weightDecay?: number;
  /** Which variables get weight decay; by default every one except norms (names containing `norm`). */
  decays?: (name: string) => boolean;
}

/** The saveable state of an {@link AdamW} optimizer: the step and both moments per variable. */
export interface AdamWState {
  /** Number of updates applied. */
  step: number;
  /** First moments by variable name. */
  firstMoments: Map<string, { shape: number[]; data: Float32Array }>;
  /** Second moments by variable name. */
  secondMoments: Map<string, { shape: number[]; data: Float32Array }>;
}

/**
 * One variable's moments: tensors on the `wasm` backend with codestack's kernels and on the
 * `tensorflow` backends, JavaScript arrays on `cpu` (see {@link computesOnHost}); converted once
 * if the backend changes.
 */
interface Moments {
  shape: number[];
  first: Float32Array | Tensor;
  second: Float32Array | Tensor;
}

function sameShape(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((length, index) => length === right[index]);
}

function describeShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * AdamW (Loshchilov & Hutter): Adam with bias correction plus decoupled weight decay,
 * `w -= lr * (m̂ / (sqrt(v̂) + ε) + λ w)`. Works on any named set of variables (a model's, or an
 * adapter's), so custom training loops can reuse it.
 *
 * On the `wasm` backend each variable's update is one kernel of codestack's own (`CodestackAdamW`,
 * four lanes at a time on the backend's memory, where the moments stay as tensors); on `cpu`, and
 * on wasm with `kernels: 'tfjs'`, one JavaScript loop over its gradient and value with the moments
 * in JavaScript arrays (as tensor ops the update ran 15 kernels per variable, each a pass over
 * memory). On the `tensorflow` backends (tfjs-node, tfjs-node-gpu) the update stays in tensor
 * ops, so that weights and moments never leave the device.
 */
export class AdamW {
  /** The resolved options. */
  readonly options: Required<AdamWOptions>;
  private readonly tf: TensorFlow;
  private readonly moments = new Map<string, Moments>();
  private stepCount = 0;

  /** Creates the optimizer for tensors of `tf`. */
  constructor(tf: TensorFlow, options: AdamWOptions = {}) {
    this.tf = tf;
    this.options = {
      beta1: options.beta1 ?? 0.9,
      beta2: options.beta2 ?? 0.95,
      epsilon: options.epsilon ?? 1e-8,
      weightDecay: options.weightDecay ?? 0.1,
      decays: options.decays ?? ((name) => !name.includes('norm')),
    };
    const { beta1, beta2, epsilon, weightDecay } = this.options;
    for (const [name, value] of Object.entries({ beta1, beta2 })) {
      if (!(value >= 0 && value < 1)) throw new InvalidArgumentError({ argument: name, message: `expected a number in [0, 1), got ${value}` });
    }
    if (!(epsilon > 0)) throw new InvalidArgumentError({ argument: 'epsilon', message: `expected a positive number, got ${epsilon}` });
    if (!(weightDecay >= 0)) throw new InvalidArgumentError({ argument: 'weightDecay', message: `expected a non-negative number, got ${weightDecay}` });
  }

  /** Number of updates applied so far. */
  get step(): number {
    return this.stepCount;
  }

  /**
   * Applies one update with `learningRate` to every variable that has a gradient, each gradient
   * first multiplied by `gradientScale` (default 1; global-norm clipping passes its factor here
   * rather than scaling every gradient tensor). Gradients are not disposed (the caller owns them).
   * Every gradient must have its variable's shape, and moments restored by
   * {@link AdamW.setState} must have it too; otherwise it throws {@link InvalidArgumentError}
   * before changing anything.
   */
  apply(variables: ReadonlyMap<string, Variable>, gradients: ReadonlyMap<string, Tensor>, learningRate: number, gradientScale = 1): void {
    if (!(learningRate >= 0) || !Number.isFinite(learningRate)) throw new InvalidArgumentError({ argument: 'learningRate', message: `expected a non-negative number, got ${learningRate}` });
    if (!(gradientScale >= 0) || !Number.isFinite(gradientScale)) throw new InvalidArgumentError({ argument: 'gradientScale', message: `expected a non-negative number, got ${gradientScale}` });
    for (const [name, gradient] of gradients) {
      const variable = variables.get(name);
      if (variable === undefined) throw new InvalidArgumentError({ argument: 'gradients', message: `no variable named ${name}` });
      if (!sameShape(gradient.shape, variable.shape)) {
        throw new InvalidArgumentError({ argument: 'gradients', message: `the gradient of ${name} has shape ${describeShape(gradient.shape)}, its variable ${describeShape(variable.shape)}` });
      }
      const moments = this.moments.get(name);
      if (moments !== undefined && !sameShape(moments.shape, variable.shape)) {
        throw new InvalidArgumentError({ argument: 'variables', message: `the optimizer state of ${name} has shape ${describeShape(moments.shape)}, the variable ${describeShape(variable.shape)}` });
      }
    }
    const onHost = computesOnHost(this.tf.getBackend());
    const kernels = onHost && wasmKernelsFor(this.tf) !== undefined;
    this.stepCount++;
    for (const [name, gradient] of gradients) {
      const variable = variables.get(name) as Variable;
      if (kernels && variable.dtype === 'float32' && gradient.dtype === 'float32' && this.applyWithKernel(name, variable, gradient, learningRate, gradientScale)) continue;
      if (onHost) this.applyOnHost(name, variable, gradient, learningRate, gradientScale);
      else this.applyWithTensors(name, variable, gradient, learningRate, gradientScale);
    }
  }

  /**
   * The step as one kernel of codestack's own on the wasm backend (about 6x faster than the
   * JavaScript loop, which copies the value and gradient out and the result back): the moments
   * then stay tensors in the backend's memory. For float32 variables where the kernels are bound
   * (the caller checks); returns false if the kernel still declines.
   */
  private applyWithKernel(name: string, variable: Variable, gradient: Tensor, learningRate: number, gradientScale: number): boolean {
    const tf = this.tf;
    const { beta1, beta2, epsilon, weightDecay, decays } = this.options;
    const moments = this.moments.get(name);
    const created: Tensor[] = [];
    const toTensor = (moment: Float32Array | Tensor | undefined): Tensor => {
      if (moment !== undefined && !(moment instanceof Float32Array)) return moment;
      const tensor = moment === undefined ? tf.zeros(variable.shape, 'float32') : tf.tensor(moment, variable.shape, 'float32');
      created.push(tensor);
      return tensor;
    };
    const first = toTensor(moments?.first);
    const second = toTensor(moments?.second);
    const result = adamWStep(
      tf,
      { value: variable, gradient, first, second },
      {
        gradientScale,
        beta1,
        beta2,
        epsilon,
        keep: 1 - learningRate * (decays(name) ? weightDecay : 0),
        stepSize: learningRate / (1 - beta1 ** this.stepCount),
        rootCorrection: 1 / Math.sqrt(1 - beta2 ** this.stepCount),
      },
    );
    if (result === undefined) {
      tf.dispose(created);
      return false;
    }
    const [value, nextFirst, nextSecond] = result;
    variable.assign(value);
    value.dispose();
    tf.dispose([first, second]);
    this.moments.set(name, { shape: [...variable.shape], first: tf.keep(nextFirst), second: tf.keep(nextSecond) });
    return true;
  }

  /** The update as one JavaScript loop over the variable (cpu; wasm without codestack's kernels). */
  private applyOnHost(name: string, variable: Variable, gradient: Tensor, learningRate: number, gradientScale: number): void {
    const { beta1, beta2, epsilon, weightDecay, decays } = this.options;
    const size = variable.size;
    const moments = this.moments.get(name) ?? { shape: [...variable.shape], first: new Float32Array(size), second: new Float32Array(size) };
    const toArray = (moment: Float32Array | Tensor): Float32Array => {
      if (moment instanceof Float32Array) return moment;
      const values = new Float32Array(moment.dataSync() as Float32Array);
      moment.dispose();
      return values;
    };
    const first = toArray(moments.first);
    const second = toArray(moments.second);
    this.moments.set(name, { shape: moments.shape, first, second });
    const firstCorrection = 1 - beta1 ** this.stepCount;
    const secondCorrection = 1 - beta2 ** this.stepCount;
    const gradientValues = gradient.dataSync() as Float32Array;
    const values = variable.dataSync() as Float32Array;
    const next = new Float32Array(size);
    const keep = 1 - learningRate * (decays(name) ? weightDecay : 0);
    // m̂ / (sqrt(v̂) + ε) * lr with the bias corrections folded into two constants: one division and one root per value.
    const stepSize = learningRate / firstCorrection;
    const rootCorrection = 1 / Math.sqrt(secondCorrection);
    const firstKeep = 1 - beta1;
    const secondKeep = 1 - beta2;
    for (let index = 0; index < size; index++) {
      const value = (gradientValues[index] as number) * gradientScale;
      const firstMoment = beta1 * (first[index] as number) + firstKeep * value;
      const secondMoment = beta2 * (second[index] as number) + secondKeep * value * value;
      first[index] = firstMoment;
      second[index] = secondMoment;
      next[index] = (values[index] as number) * keep - (stepSize * firstMoment) / (Math.sqrt(secondMoment) * rootCorrection + epsilon);
    }
    const updated = this.tf.tensor(next, variable.shape, 'float32');
    variable.assign(updated);
    updated.dispose();
  }

  /** The update as tensor ops, on the device (tensorflow, tensorflow-gpu). */
  private applyWithTensors(name: string, variable: Variable, gradient: Tensor, learningRate: number, gradientScale: number): void {
    const tf = this.tf;
    const { beta1, beta2, epsilon, weightDecay, decays } = this.options;
    const firstCorrection = 1 - beta1 ** this.stepCount;
    const secondCorrection = 1 - beta2 ** this.stepCount;
    const moments = this.moments.get(name);
    const toTensor = (moment: Float32Array | Tensor): Tensor => (moment instanceof Float32Array ? tf.tensor(moment, variable.shape, 'float32') : moment);
    const previousFirst = moments === undefined ? undefined : toTensor(moments.first);
    const previousSecond = moments === undefined ? undefined : toTensor(moments.second);
    const [first, second] = tf.tidy(() => {
      const scaled = gradientScale === 1 ? gradient : tf.mul(gradient, gradientScale);
      const first = previousFirst === undefined ? tf.mul(scaled, 1 - beta1) : tf.add(tf.mul(previousFirst, beta1), tf.mul(scaled, 1 - beta1));
      const second = previousSecond === undefined ? tf.mul(tf.square(scaled), 1 - beta2) : tf.add(tf.mul(previousSecond, beta2), tf.mul(tf.square(scaled), 1 - beta2));
      const update = tf.div(tf.div(first, firstCorrection), tf.add(tf.sqrt(tf.div(second, secondCorrection)), epsilon));
      const decay = decays(name) ? weightDecay : 0;
      const next = decay > 0 ? tf.sub(tf.mul(variable, 1 - learningRate * decay), tf.mul(update, learningRate)) : tf.sub(variable, tf.mul(update, learningRate));
      variable.assign(next);
      return [first, second];
    });
    previousFirst?.dispose();
    previousSecond?.dispose();
    this.moments.set(name, { shape: [...variable.shape], first, second });
  }

  /** Copies the state out (for checkpoints). */
  getState(): AdamWState {
    const firstMoments = new Map<string, { shape: number[]; data: Float32Array }>();
    const secondMoments = new Map<string, { shape: number[]; data: Float32Array }>();
    const copy = (moment: Float32Array | Tensor): Float32Array => new Float32Array(moment instanceof Float32Array ? moment : (moment.dataSync() as Float32Array));
    for (const [name, moments] of this.moments) {
      firstMoments.set(name, { shape: [...moments.shape], data: copy(moments.first) });
      secondMoments.set(name, { shape: [...moments.shape], data: copy(moments.second) });
    }
    return { step: this.stepCount, firstMoments, secondMoments };
  }

  /**
   * Restores a state from {@link AdamW.getState} (replacing the current one). Throws
   * {@link InvalidArgumentError}, keeping the current state, when the step is not a non-negative
   * integer, a variable has one moment but not the other, the two moments' shapes differ, or a
   * moment's data does not have its shape's size.
   */
  setState(state: AdamWState): void {
    if (!(Number.isInteger(state.step) && state.step >= 0)) throw new InvalidArgumentError({ argument: 'state', message: `expected a non-negative integer step, got ${state.step}` });
    const restored = new Map<string, Moments>();
    for (const name of new Set([...state.firstMoments.keys(), ...state.secondMoments.keys()])) {
      const first = state.firstMoments.get(name);
      const second = state.secondMoments.get(name);
      if (first === undefined || second === undefined) {
        throw new InvalidArgumentError({ argument: 'state', message: `${name} has a ${first === undefined ? 'second' : 'first'} moment but no ${first === undefined ? 'first' : 'second'} one` });
      }
      if (!sameShape(first.shape, second.shape)) {
        throw new InvalidArgumentError({ argument: 'state', message: `the moments of ${name} have shapes ${describeShape(first.shape)} and ${describeShape(second.shape)}` });
      }
      const shape = [...first.shape];
      if (!shape.every((length) => Number.isInteger(length) && length >= 0)) throw new InvalidArgumentError({ argument: 'state', message: `the moments of ${name} have an invalid shape ${describeShape(shape)}` });
      const size = shape.reduce((product, length) => product * length, 1);
      for (const [kind, moment] of [['first', first], ['second', second]] as const) {
        if (moment.data.length !== size) {
          throw new InvalidArgumentError({ argument: 'state', message: `the ${kind} moment of ${name} has ${moment.data.length} values, its shape ${describeShape(shape)} needs ${size}` });
        }
      }
      restored.set(name, { shape, first: new Float32Array(first.data), second: new Float32Array(second.data) });
    }
    this.dispose();
    this.stepCount = state.step;
    for (const [name, moments] of restored) this.moments.set(name, moments);
  }

  /** Releases the moments. */
  dispose(): void {
    for (const { first, second } of this.moments.values()) {
      if (!(first instanceof Float32Array)) first.dispose();
      if (!(second instanceof Float32Array)) second.dispose();
    }
    this.moments.clear();
  }
}
