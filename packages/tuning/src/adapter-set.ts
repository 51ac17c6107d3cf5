import { InvalidArgumentError } from '@codestack/core';
import type { LinearHook, LlamaModel } from '@codestack/runtime';
import type { Adapter } from './adapter.js';
import { loadAdapter, type LoadAdapterOptions } from './adapter-files.js';
import { AdapterStateError } from './adapter-state-error.js';
import { fingerprintModel } from './base-model-fingerprint.js';
import { IncompatibleAdaptersError } from './incompatible-adapters-error.js';

/**
 * Several adapters on one frozen base model, one active at a time: pick an adapter per request
 * with {@link AdapterSet.use} or {@link AdapterSet.run}; the base weights are never reloaded or
 * copied. The set installs one `linearHook` on the model that forwards to the active adapter
 * (or passes through when none is active); {@link AdapterSet.detach} restores the previous hook.
 */
export class AdapterSet {
  /** The base model. */
  readonly model: LlamaModel;
  private readonly adapters = new Map<string, Adapter>();
  private activeName: string | undefined;
  private readonly previousHook: LinearHook | undefined;
  private readonly hook: LinearHook;
  private fingerprint: string | undefined;
  private detached = false;

  /** Creates the set and installs its hook on `model`. */
  constructor(model: LlamaModel) {
    this.model = model;
    this.previousHook = model.linearHook;
    this.hook = (context) => {
      const adapter = this.activeName === undefined ? undefined : this.adapters.get(this.activeName);
      return adapter === undefined ? context.output : adapter.apply(context);
    };
    model.linearHook = this.hook;
  }

  /** The names of the adapters, in insertion order. */
  names(): string[] {
    return [...this.adapters.keys()];
  }

  /** The active adapter's name, or `undefined` when the base model runs unchanged. */
  get active(): string | undefined {
    return this.activeName;
  }

  /** An adapter by name. Throws {@link InvalidArgumentError} for an unknown name. */
  get(name: string): Adapter {
    const adapter = this.adapters.get(name);
    if (adapter === undefined) throw new InvalidArgumentError({ argument: 'name', message: `no adapter named ${JSON.stringify(name)}; have ${this.names().join(', ') || 'none'}` });
    return adapter;
  }

  /**
   * Adds an adapter under `name`. Throws {@link InvalidArgumentError} for a taken name,
   * {@link IncompatibleAdaptersError} when it does not fit the model's shape, and
   * {@link AdapterStateError} when it is disposed or merged into a model.
   */
  add(name: string, adapter: Adapter): void {
    this.assertAttached();
    if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError({ argument: 'name', message: 'expected a non-empty string' });
    if (this.adapters.has(name)) throw new InvalidArgumentError({ argument: 'name', message: `an adapter named ${JSON.stringify(name)} is already in the set` });
    adapter.assertUsable();
    if (adapter.mergedInto !== undefined) throw new AdapterStateError({ message: `adapter ${adapter.name} is merged into a model; unmerge it first` });
    if (!adapter.fits(this.model)) throw new IncompatibleAdaptersError({ message: `adapter ${adapter.name} was made for a model of another shape` });
    this.adapters.set(name, adapter);
  }

  /**
   * Loads an adapter directory (see `loadAdapter`) and adds it under `name`. The base model's
   * fingerprint is computed once per set and reused for every load.
   */
  async load(name: string, directory: string, options: Omit<LoadAdapterOptions, 'baseFingerprint' | 'name'> = {}): Promise<Adapter> {
    this.assertAttached();
    if (this.adapters.has(name)) throw new InvalidArgumentError({ argument: 'name', message: `an adapter named ${JSON.stringify(name)} is already in the set` });
    this.fingerprint ??= fingerprintModel(this.model);
    const adapter = await loadAdapter(this.model, directory, { ...options, name, baseFingerprint: this.fingerprint });
    this.add(name, adapter);
    return adapter;
  }

  /** Removes an adapter (deactivating it if active); disposes it unless `dispose` is false. Returns it. */
  remove(name: string, { dispose = true }: { dispose?: boolean } = {}): Adapter {
    const adapter = this.get(name);
    this.adapters.delete(name);
    if (this.activeName === name) this.activeName = undefined;
    if (dispose) adapter.dispose();
    return adapter;
  }

  /** Makes `name` the active adapter, or runs the plain base model with `undefined`. */
  use(name: string | undefined): void {
    this.assertAttached();
    if (name !== undefined) this.get(name);
    this.activeName = name;
  }

  /**
   * Runs `action` with `name` active (or the base with `undefined`) and restores the previous
   * choice afterwards, also when `action` throws or its promise rejects.
   *
   * The choice is one slot per set: run the model's forward passes synchronously inside
   * `action` (they are synchronous in the runtime), because two asynchronous actions that await
   * in between would see each other's choice.
   */
  run<T>(name: string | undefined, action: () => T): T {
    const previous = this.activeName;
    this.use(name);
    let result: T;
    try {
      result = action();
    } catch (error) {
      this.activeName = previous;
      throw error;
    }
    if (result instanceof Promise) {
      return result.finally(() => {
        this.activeName = previous;
      }) as T;
    }
    this.activeName = previous;
    return result;
  }

  /** Removes the set's hook from the model (restoring the hook it replaced). Adapters stay usable. */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    if (this.model.linearHook === this.hook) this.model.linearHook = this.previousHook;
  }

  /** Detaches and disposes every adapter of the set. */
  dispose(): void {
    this.detach();
    for (const adapter of this.adapters.values()) adapter.dispose();
    this.adapters.clear();
    this.activeName = undefined;
  }

  private assertAttached(): void {
    if (this.detached) throw new AdapterStateError({ message: 'the adapter set was detached from its model' });
  }
}
