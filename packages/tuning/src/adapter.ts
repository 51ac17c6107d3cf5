import type * as tfCore from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@codestack/core';
import {
  LlamaModel,
  headSize,
  SeededRandom,
  matMul2d,
  type LinearHook,
  type LinearHookContext,
  type ModelConfig,
  type ProjectionName,
  type SafetensorsTensor,
  type TensorFlow,
} from '@codestack/runtime';
import { resolveAdapterConfig, type AdapterConfig, type ResolvedAdapterConfig } from './adapter-config.js';
import { AdapterStateError } from './adapter-state-error.js';

type Tensor2D = tfCore.Tensor2D;
type Variable = tfCore.Variable;

/** The adapter variables on one projection of one layer. */
export interface AdapterModule {
  /** The decoder layer. */
  layer: number;
  /** The projection. */
  projection: ProjectionName;
  /** The base weight it adapts, e.g. `model.layers.1.self_attn.q_proj.weight`. */
  weightName: string;
  /** The projection's input width. */
  inputSize: number;
  /** The projection's output width. */
  outputSize: number;
  /** LoRA: A in memory layout [in, r] (PEFT stores its transpose [r, in]). */
  loraA?: Variable;
  /** LoRA: B in memory layout [r, out] (PEFT stores its transpose [out, r]). */
  loraB?: Variable;
  /** IA3: the scaling vector, [out] (or [in] when {@link AdapterModule.scalesInput}). */
  ia3Scale?: Variable;
  /** IA3: whether the vector scales the projection's input (PEFT feed-forward modules). */
  scalesInput: boolean;
}

/** Options of {@link Adapter.create}. */
export interface CreateAdapterOptions {
  /** Seed of LoRA's A initialisation. Default 0. */
  seed?: number;
  /** A name for messages and routing. Default `'adapter'`. */
  name?: string;
}

/** Initial values of an adapter, by PEFT tensor name (used when loading files). */
export type AdapterTensors = ReadonlyMap<string, SafetensorsTensor>;

/** The PEFT prefix of a base weight: `model.layers.0.self_attn.q_proj.weight` → `base_model.model.model.layers.0.self_attn.q_proj`. */
export function peftModulePrefix(weightName: string): string {
  return `base_model.model.${weightName.replace(/\.weight$/, '')}`;
}

function sameModelShape(left: Readonly<ModelConfig>, right: Readonly<ModelConfig>): boolean {
  return (
    left.hiddenSize === right.hiddenSize &&
    left.layers === right.layers &&
    left.attentionHeads === right.attentionHeads &&
    left.keyValueHeads === right.keyValueHeads &&
    left.feedForwardSize === right.feedForwardSize &&
    headSize(left) === headSize(right)
  );
}

/**
 * A LoRA or IA3 adapter for the projections of a {@link LlamaModel}: small trainable variables
 * that change a frozen base model's projections through its `linearHook`.
 *
 * Create one with {@link Adapter.create}, train it with `trainAdapter`, save it with
 * `saveAdapter`, serve several with an `AdapterSet`, or fold it into the base with `mergeAdapter`.
 */
export class Adapter {
  /** The validated configuration, resolved against the model's layers. */
  readonly config: ResolvedAdapterConfig;
  /** The shape of the model this adapter fits. */
  readonly modelConfig: Readonly<ModelConfig>;
  /** The adapted projections, keyed by base weight name. */
  readonly modules: ReadonlyMap<string, AdapterModule>;
  /** A name for messages and routing. */
  readonly name: string;
  /** When true, LoRA dropout is applied (set by the trainer). */
  training = false;
  /** When false, the hook passes every projection through unchanged (the adapter is disabled). */
  enabled = true;
  /** The base-model fingerprint from the adapter's file, when it was loaded from one. */
  baseFingerprint: string | undefined;
  /** The hook that applies this adapter; install it as a model's `linearHook`. */
  readonly hook: LinearHook;

  private readonly tf: TensorFlow;
  private disposed = false;
  /** The model this adapter is merged into, if any (maintained by `mergeAdapter` / `unmergeAdapter`). */
  mergedInto: LlamaModel | undefined;

  private constructor(tf: TensorFlow, config: ResolvedAdapterConfig, modelConfig: Readonly<ModelConfig>, modules: Map<string, AdapterModule>, name: string) {
    this.tf = tf;
    this.config = config;
    this.modelConfig = modelConfig;
    this.modules = modules;
    this.name = name;
    this.hook = (context) => this.apply(context);
  }

  /**
   * Creates a fresh adapter for `model`. LoRA's B starts at zero and IA3's vectors at one, so
   * a fresh adapter leaves the model's output unchanged. Throws {@link InvalidArgumentError}
   * for a bad configuration.
   */
  static create(model: LlamaModel, config: AdapterConfig, options: CreateAdapterOptions = {}): Adapter {
    return Adapter.build(model, resolveAdapterConfig(config, model.config.layers), options, undefined);
  }

  /**
   * Creates an adapter from PEFT-named tensors (PEFT layouts: lora_A [r, in], lora_B [out, r],
   * ia3_l [out, 1] or [1, in]). Throws {@link InvalidArgumentError} when a tensor is missing,
   * has the wrong shape, or is not expected.
   */
  static fromTensors(model: LlamaModel, config: ResolvedAdapterConfig, tensors: AdapterTensors, options: CreateAdapterOptions = {}): Adapter {
    return Adapter.build(model, config, options, tensors);
  }

  private static build(model: LlamaModel, config: ResolvedAdapterConfig, options: CreateAdapterOptions, tensors: AdapterTensors | undefined): Adapter {
    const tf = model.runtime.tf;
    model.runtime.assertActive();
    const random = new SeededRandom(options.seed ?? 0);
    const modules = new Map<string, AdapterModule>();
    const used = new Set<string>();
    const take = (name: string, shape: number[]): Float32Array => {
      const tensor = tensors?.get(name);
      if (tensor === undefined) throw new InvalidArgumentError({ argument: 'tensors', message: `tensor ${name} is missing` });
      if (tensor.shape.length !== shape.length || tensor.shape.some((size, index) => size !== shape[index])) {
        throw new InvalidArgumentError({ argument: 'tensors', message: `${name} has shape [${tensor.shape.join(', ')}], expected [${shape.join(', ')}]` });
      }
      used.add(name);
      return tensor.data;
    };
    try {
      for (const layer of config.layers) {
        for (const projection of config.targetModules) {
          const weightName = LlamaModel.projectionWeightName(layer, projection);
          const [inputSize, outputSize] = model.getWeight(weightName).shape as [number, number];
          const prefix = peftModulePrefix(weightName);
          const module: AdapterModule = { layer, projection, weightName, inputSize, outputSize, scalesInput: false };
          if (config.method === 'lora') {
            const r = config.r;
            let a: Float32Array;
            let b: Float32Array;
            if (tensors === undefined) {
              a = new Float32Array(r * inputSize);
              const bound = 1 / Math.sqrt(inputSize);
              for (let index = 0; index < a.length; index++) {
                a[index] = config.initialization === 'gaussian' ? random.nextNormal() / r : (random.nextFloat() * 2 - 1) * bound;
              }
              b = new Float32Array(outputSize * r);
            } else {
              a = take(`${prefix}.lora_A.weight`, [r, inputSize]);
              b = take(`${prefix}.lora_B.weight`, [outputSize, r]);
            }
            // PEFT layouts [r, in] and [out, r]; memory layouts are their transposes.
            module.loraA = tf.tidy(() => tf.variable(tf.transpose(tf.tensor2d(a, [r, inputSize])), true));
            module.loraB = tf.tidy(() => tf.variable(tf.transpose(tf.tensor2d(b, [outputSize, r])), true));
          } else {
            module.scalesInput = config.feedforwardModules.includes(projection);
            const size = module.scalesInput ? inputSize : outputSize;
            const values = tensors === undefined ? new Float32Array(size).fill(1) : take(`${prefix}.ia3_l`, module.scalesInput ? [1, size] : [size, 1]);
            module.ia3Scale = tf.tidy(() => tf.variable(tf.tensor1d(values), true));
          }
          modules.set(weightName, module);
        }
      }
      if (tensors !== undefined) {
        for (const name of tensors.keys()) {
          if (!used.has(name)) throw new InvalidArgumentError({ argument: 'tensors', message: `unexpected tensor ${name} for this adapter configuration` });
        }
      }
    } catch (error) {
      for (const module of modules.values()) disposeModule(module);
      throw error;
    }
    return new Adapter(tf, config, model.config, modules, options.name ?? 'adapter');
  }

  /** Whether this adapter fits `model`'s shape (layers, widths, heads). */
  fits(model: LlamaModel): boolean {
    return sameModelShape(this.modelConfig, model.config);
  }

  /**
   * Applies the adapter to one projection (the body of {@link Adapter.hook}): LoRA returns
   * `output + scale * dropout(input) @ A @ B` (the base output keeps its bias), IA3 returns
   * `output * l` (bias included, as PEFT) or, for feed-forward modules, `(input * l) @ W + bias`.
   * Projections it does not adapt, and every projection while it is disabled, pass through unchanged.
   */
  apply(context: LinearHookContext): Tensor2D {
    const module = this.modules.get(context.weightName);
    if (module === undefined || !this.enabled) return context.output;
    this.assertUsable();
    const tf = this.tf;
    if (this.config.method === 'lora') {
      const input = this.training && this.config.dropout > 0 ? (tf.dropout(context.input, this.config.dropout) as Tensor2D) : context.input;
      // Scale the [tokens, r] product rather than the [tokens, out] one: fewer values to keep for the gradient.
      const low = matMul2d(tf, input, module.loraA as unknown as Tensor2D);
      const scaled = this.config.scale === 1 ? low : (tf.mul(low, this.config.scale) as Tensor2D);
      return tf.add(context.output, matMul2d(tf, scaled, module.loraB as unknown as Tensor2D)) as Tensor2D;
    }
    const scale = module.ia3Scale as Variable;
    // (input * l) @ W + bias, written as output + (input * (l - 1)) @ W so that a bias (Llama's mlp_bias) is kept, as PEFT does.
    if (module.scalesInput) return tf.add(context.output, matMul2d(tf, tf.mul(context.input, tf.sub(scale, 1)) as Tensor2D, context.weight as unknown as Tensor2D)) as Tensor2D;
    return tf.mul(context.output, scale) as Tensor2D;
  }

  /** The adapter's trainable variables by PEFT tensor name, in a stable order. */
  trainableVariables(): Map<string, Variable> {
    this.assertUsable();
    const result = new Map<string, Variable>();
    for (const module of this.modules.values()) {
      const prefix = peftModulePrefix(module.weightName);
      if (module.loraA !== undefined) result.set(`${prefix}.lora_A.weight`, module.loraA);
      if (module.loraB !== undefined) result.set(`${prefix}.lora_B.weight`, module.loraB);
      if (module.ia3Scale !== undefined) result.set(`${prefix}.ia3_l`, module.ia3Scale);
    }
    return result;
  }

  /** The number of trainable parameters. */
  parameterCount(): number {
    let total = 0;
    for (const variable of this.trainableVariables().values()) total += variable.size;
    return total;
  }

  /**
   * The adapter's tensors with PEFT names and layouts (lora_A [r, in], lora_B [out, r],
   * ia3_l [out, 1] or [1, in]), as written to `adapter_model.safetensors`.
   */
  exportTensors(): Map<string, SafetensorsTensor> {
    this.assertUsable();
    const tf = this.tf;
    const result = new Map<string, SafetensorsTensor>();
    for (const [name, variable] of this.trainableVariables()) {
      const module = [...this.modules.values()].find((candidate) => name.startsWith(`${peftModulePrefix(candidate.weightName)}.`)) as AdapterModule;
      if (variable.rank === 2) {
        const transposed = tf.transpose(variable);
        result.set(name, { shape: [...transposed.shape], data: new Float32Array(transposed.dataSync() as Float32Array) });
        transposed.dispose();
      } else {
        const shape = module.scalesInput ? [1, variable.size] : [variable.size, 1];
        result.set(name, { shape, data: new Float32Array(variable.dataSync() as Float32Array) });
      }
    }
    return result;
  }

  /** Whether {@link Adapter.dispose} was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Releases the adapter's variables. Throws {@link AdapterStateError} while it is merged into a model. */
  dispose(): void {
    if (this.disposed) return;
    if (this.mergedInto !== undefined) throw new AdapterStateError({ message: `adapter ${this.name} is merged into a model; unmerge it before disposing` });
    this.disposed = true;
    for (const module of this.modules.values()) disposeModule(module);
  }

  /** Throws {@link AdapterStateError} when the adapter was disposed. */
  assertUsable(): void {
    if (this.disposed) throw new AdapterStateError({ message: `adapter ${this.name} was disposed` });
  }
}

function disposeModule(module: AdapterModule): void {
  module.loraA?.dispose();
  module.loraB?.dispose();
  module.ia3Scale?.dispose();
}
