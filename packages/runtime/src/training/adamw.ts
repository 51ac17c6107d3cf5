import type * as tfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@codestack/core';
import type { TensorFlow } from '../backend/tensorflow.js';

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
 * AdamW (Loshchilov & Hutter): Adam with bias correction plus decoupled weight decay,
 * `w -= lr * (m̂ / (sqrt(v̂) + ε) + λ w)`. Works on any named set of variables (a model's, or an
 * adapter's), so custom training loops can reuse it.
 */
export class AdamW {
  /** The resolved options. */
  readonly options: Required<AdamWOptions>;
  private readonly tf: TensorFlow;
  private readonly firstMoments = new Map<string, Tensor>();
  private readonly secondMoments = new Map<string, Tensor>();
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
   * Applies one update with `learningRate` to every variable that has a gradient. Gradients are
   * not disposed (the caller owns them).
   */
  apply(variables: ReadonlyMap<string, Variable>, gradients: ReadonlyMap<string, Tensor>, learningRate: number): void {
    if (!(learningRate >= 0) || !Number.isFinite(learningRate)) throw new InvalidArgumentError({ argument: 'learningRate', message: `expected a non-negative number, got ${learningRate}` });
    const tf = this.tf;
    const { beta1, beta2, epsilon, weightDecay, decays } = this.options;
    this.stepCount++;
    const firstCorrection = 1 - beta1 ** this.stepCount;
    const secondCorrection = 1 - beta2 ** this.stepCount;
    for (const [name, gradient] of gradients) {
      const variable = variables.get(name);
      if (variable === undefined) throw new InvalidArgumentError({ argument: 'gradients', message: `no variable named ${name}` });
      const previousFirst = this.firstMoments.get(name);
      const previousSecond = this.secondMoments.get(name);
      const [first, second] = tf.tidy(() => {
        const first = previousFirst === undefined ? tf.mul(gradient, 1 - beta1) : tf.add(tf.mul(previousFirst, beta1), tf.mul(gradient, 1 - beta1));
        const second = previousSecond === undefined ? tf.mul(tf.square(gradient), 1 - beta2) : tf.add(tf.mul(previousSecond, beta2), tf.mul(tf.square(gradient), 1 - beta2));
        const update = tf.div(tf.div(first, firstCorrection), tf.add(tf.sqrt(tf.div(second, secondCorrection)), epsilon));
        const decay = decays(name) ? weightDecay : 0;
        const next = decay > 0 ? tf.sub(tf.mul(variable, 1 - learningRate * decay), tf.mul(update, learningRate)) : tf.sub(variable, tf.mul(update, learningRate));
        variable.assign(next);
        return [first, second];
      });
      previousFirst?.dispose();
      previousSecond?.dispose();
      this.firstMoments.set(name, first);
      this.secondMoments.set(name, second);
    }
  }

  /** Copies the state out (for checkpoints). */
  getState(): AdamWState {
    const read = (moments: Map<string, Tensor>): Map<string, { shape: number[]; data: Float32Array }> =>
      new Map([...moments].map(([name, tensor]) => [name, { shape: [...tensor.shape], data: new Float32Array(tensor.dataSync() as Float32Array) }]));
    return { step: this.stepCount, firstMoments: read(this.firstMoments), secondMoments: read(this.secondMoments) };
  }

  /** Restores a state from {@link AdamW.getState} (replacing the current one). */
  setState(state: AdamWState): void {
    this.dispose();
    this.stepCount = state.step;
    for (const [name, value] of state.firstMoments) this.firstMoments.set(name, this.tf.tensor(value.data, value.shape, 'float32'));
    for (const [name, value] of state.secondMoments) this.secondMoments.set(name, this.tf.tensor(value.data, value.shape, 'float32'));
  }

  /** Releases the moment tensors. */
  dispose(): void {
    for (const tensor of [...this.firstMoments.values(), ...this.secondMoments.values()]) tensor.dispose();
    this.firstMoments.clear();
    this.secondMoments.clear();
  }
}
