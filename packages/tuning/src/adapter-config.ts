import { InvalidArgumentError } from '@codestack/core';
import { LlamaModel, projectionNames, type ProjectionName } from '@codestack/runtime';
import { compileModuleNamePattern } from './module-name-pattern.js';

/**
 * Which decoder layers an adapter touches: explicit indices, a half-open range
 * `{ start, end }` (end excluded), `'middle'` (the middle third, the default) or `'all'`.
 */
export type LayerSelection = readonly number[] | { start: number; end: number } | 'middle' | 'all';

/**
 * Which projections an adapter wraps: a list of projection names, a pattern matched against the
 * projection name (a `RegExp` such as `/^(q|v)_proj$/`, or a string matched as a full-match
 * regular expression of the safe subset `compileModuleNamePattern` accepts, in linear time), or
 * `'all-linear'` for all seven.
 */
export type TargetModules = readonly ProjectionName[] | RegExp | string;

/** How LoRA's A matrix starts (B always starts at zero, so a fresh adapter changes nothing). */
export type LoraInitialization = 'kaiming-uniform' | 'gaussian';

/** Fields every adapter method shares. */
interface AdapterConfigBase {
  /** The projections to adapt. Default: `['q_proj', 'v_proj']` for LoRA, `['k_proj', 'v_proj', 'down_proj']` for IA3. */
  targetModules?: TargetModules;
  /** The layers to adapt. Default `'middle'`. */
  layers?: LayerSelection;
  /** Recorded as `base_model_name_or_path` in `adapter_config.json`. */
  baseModelName?: string;
}

/** A LoRA adapter: `output += scale * dropout(input) @ A @ B` with A [in, r] and B [r, out]. */
export interface LoraConfig extends AdapterConfigBase {
  /** The method. */
  method: 'lora';
  /** The rank `r` (a positive integer). Default 8. */
  r?: number;
  /** The scaling numerator `alpha`. Default equal to `r` (scale 1). */
  alpha?: number;
  /** Dropout on the adapter's input during training, in [0, 1). Default 0. */
  dropout?: number;
  /** rsLoRA: scale by `alpha / sqrt(r)` instead of `alpha / r`. Default false. */
  useRsLora?: boolean;
  /** Initialisation of A. Default `'kaiming-uniform'` (as PEFT). */
  initialization?: LoraInitialization;
}

/** An IA3 adapter: learned vectors (starting at one) that scale a projection's output, or its input for feed-forward modules. */
export interface Ia3Config extends AdapterConfigBase {
  /** The method. */
  method: 'ia3';
  /**
   * Targeted projections whose INPUT is scaled instead of their output (PEFT's
   * `feedforward_modules`). Default: `['down_proj']` when it is targeted.
   */
  feedforwardModules?: readonly ProjectionName[];
}

/** An adapter configuration, PEFT style. */
export type AdapterConfig = LoraConfig | Ia3Config;

/** A validated configuration resolved against a model's layer count. */
export type ResolvedAdapterConfig =
  | {
      /** The method. */
      method: 'lora';
      /** The rank. */
      r: number;
      /** The scaling numerator. */
      alpha: number;
      /** Dropout on the adapter input during training. */
      dropout: number;
      /** Whether the scale is `alpha / sqrt(r)`. */
      useRsLora: boolean;
      /** How A was initialised. */
      initialization: LoraInitialization;
      /** The adapted projections, in Hugging Face order. */
      targetModules: ProjectionName[];
      /** The adapted layers, ascending. */
      layers: number[];
      /** `base_model_name_or_path`. */
      baseModelName: string;
      /** `alpha / r`, or `alpha / sqrt(r)` with rsLoRA. */
      scale: number;
    }
  | {
      /** The method. */
      method: 'ia3';
      /** The adapted projections, in Hugging Face order. */
      targetModules: ProjectionName[];
      /** Targeted projections whose input (not output) is scaled. */
      feedforwardModules: ProjectionName[];
      /** The adapted layers, ascending. */
      layers: number[];
      /** `base_model_name_or_path`. */
      baseModelName: string;
    };

const invalid = (argument: string, message: string): InvalidArgumentError => new InvalidArgumentError({ argument, message });

/**
 * Bounds on adapter configurations, checked before anything is allocated: rank `r` at most
 * 4 096, `alpha` finite in (0, 65 536] (a huge alpha turns logits into NaN), at most 64
 * `target_modules` names and 1 024 `layers_to_transform` entries.
 */
export const adapterConfigLimits = { rank: 4_096, alpha: 65_536, targetModuleNames: 64, layers: 1_024 } as const;

/** The decoder layers of `'middle'` for a model of `layerCount` layers: the middle third, at least one layer. */
export function middleLayers(layerCount: number): number[] {
  const start = Math.floor(layerCount / 3);
  const end = Math.max(start + 1, Math.ceil((2 * layerCount) / 3));
  return range(start, Math.min(end, layerCount));
}

function range(start: number, end: number): number[] {
  return Array.from({ length: Math.max(0, end - start) }, (_, index) => start + index);
}

/** Resolves a {@link LayerSelection} to ascending layer indices of a model with `layerCount` layers. */
export function resolveLayers(selection: LayerSelection, layerCount: number): number[] {
  if (selection === 'middle') return middleLayers(layerCount);
  if (selection === 'all') return range(0, layerCount);
  if (Array.isArray(selection)) {
    const list = selection as readonly number[];
    if (list.length === 0) throw invalid('config.layers', 'expected at least one layer');
    for (const layer of list) {
      if (!Number.isInteger(layer) || layer < 0 || layer >= layerCount) {
        throw invalid('config.layers', `layer ${JSON.stringify(layer)} is outside [0, ${layerCount})`);
      }
    }
    if (new Set(list).size !== list.length) throw invalid('config.layers', 'a layer is listed twice');
    return [...list].sort((left, right) => left - right);
  }
  if (typeof selection === 'object' && selection !== null && 'start' in selection && 'end' in selection) {
    const { start, end } = selection;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > layerCount || end <= start) {
      throw invalid('config.layers', `range [${String(start)}, ${String(end)}) is not a non-empty range inside [0, ${layerCount})`);
    }
    return range(start, end);
  }
  throw invalid('config.layers', `expected a list, { start, end }, 'middle' or 'all', got ${JSON.stringify(selection)}`);
}

/** Resolves {@link TargetModules} to projection names in Hugging Face order (patterns and names matched against the bare projection name). */
export function resolveTargetModules(targets: TargetModules): ProjectionName[] {
  let selected: ProjectionName[];
  if (targets === 'all-linear') selected = [...projectionNames];
  else if (typeof targets === 'string') {
    const matches = compileModuleNamePattern(targets);
    selected = projectionNames.filter((name) => matches(name));
  } else if (targets instanceof RegExp) {
    const pattern = new RegExp(targets.source, targets.flags.replace('g', '').replace('y', ''));
    selected = projectionNames.filter((name) => pattern.test(name));
  } else if (Array.isArray(targets)) {
    for (const name of targets as readonly string[]) {
      if (!projectionNames.includes(name as ProjectionName)) {
        throw invalid('config.targetModules', `unknown module ${JSON.stringify(name)}; expected some of ${projectionNames.join(', ')}`);
      }
    }
    selected = projectionNames.filter((name) => (targets as readonly string[]).includes(name));
  } else {
    throw invalid('config.targetModules', 'expected a list of projection names, a pattern or all-linear');
  }
  if (selected.length === 0) throw invalid('config.targetModules', `${String(targets)} matches no projection`);
  return selected;
}

/** The full module path of a projection as PEFT sees it, e.g. `model.layers.3.self_attn.q_proj`. */
export function projectionModulePath(layer: number, projection: ProjectionName): string {
  return LlamaModel.projectionWeightName(layer, projection).replace(/\.weight$/, '');
}

/** The adaptable modules of a model with `layerCount` layers, as [layer, projection, full path]. */
function moduleTable(layerCount: number): [number, ProjectionName, string][] {
  const table: [number, ProjectionName, string][] = [];
  for (let layer = 0; layer < layerCount; layer++) for (const projection of projectionNames) table.push([layer, projection, projectionModulePath(layer, projection)]);
  return table;
}

/** Whether a `target_modules` pattern full-matches the full path of some projection (else it is matched against bare names). */
function matchesFullPaths(pattern: string, layerCount: number): boolean {
  if (pattern === 'all-linear') return false;
  const matches = compileModuleNamePattern(pattern);
  return moduleTable(layerCount).some(([, , path]) => matches(path));
}

/** Modules outside the decoder projections that PEFT could target; never adapted here. */
const unadaptableModules = /(^|\.)(lm_head|embed_tokens|q_norm|k_norm|input_layernorm|post_attention_layernorm|norm)$/;

/**
 * Resolves `target_modules` the way PEFT's `check_target_module_exists` does, against the full
 * module paths (`model.layers.3.self_attn.q_proj`) of a model with `layerCount` layers:
 * a string pattern must full-match the path (with the safe matcher, linear time); each name of a
 * list matches a path equal to it or ending in `.` + it (`q_proj`, `self_attn.q_proj`,
 * `model.layers.3.self_attn.q_proj`). For compatibility, a string pattern that full-matches no
 * path is matched against the bare projection name (`(q|v)_proj`), and a `RegExp` is tested
 * against the bare name. The matched modules, restricted to `layers` (every layer when
 * undefined), must be the same projections in every matched layer (what `target_modules` plus
 * `layers_to_transform` can express). `lm_head`, `embed_tokens` and the norms are never adapted:
 * naming one is refused. Throws {@link InvalidArgumentError} (`config.targetModules`).
 */
export function resolveTargetSelection(targets: TargetModules, layerCount: number, layers?: readonly number[]): { targetModules: ProjectionName[]; layers: number[] } {
  const allowedLayers = layers ?? range(0, layerCount);
  let matched: (path: string, projection: ProjectionName) => boolean;
  if (targets === 'all-linear' || targets instanceof RegExp) {
    const projections = resolveTargetModules(targets);
    matched = (_path, projection) => projections.includes(projection);
  } else if (typeof targets === 'string') {
    const matches = compileModuleNamePattern(targets);
    matched = matchesFullPaths(targets, layerCount) ? (path) => matches(path) : (_path, projection) => matches(projection);
  } else if (Array.isArray(targets)) {
    const names = targets as readonly unknown[];
    if (names.length === 0) throw invalid('config.targetModules', 'expected at least one module name');
    const table = moduleTable(layerCount);
    const hits = (name: string, path: string): boolean => path === name || path.endsWith(`.${name}`);
    for (const name of names) {
      if (typeof name !== 'string') throw invalid('config.targetModules', `expected module names, got ${JSON.stringify(name)}`);
      if (unadaptableModules.test(name)) throw invalid('config.targetModules', `${JSON.stringify(name)} is not adapted (only the seven decoder projections are: ${projectionNames.join(', ')})`);
      if (!table.some(([, , path]) => hits(name, path))) {
        throw invalid('config.targetModules', `unknown module ${JSON.stringify(name)}; expected some of ${projectionNames.join(', ')}`);
      }
    }
    matched = (path) => (names as string[]).some((name) => hits(name, path));
  } else {
    throw invalid('config.targetModules', 'expected a list of projection names, a pattern or all-linear');
  }
  const byLayer = new Map<number, ProjectionName[]>();
  for (const layer of allowedLayers) {
    const projections = projectionNames.filter((projection) => matched(projectionModulePath(layer, projection), projection));
    if (projections.length > 0) byLayer.set(layer, projections);
  }
  if (byLayer.size === 0) throw invalid('config.targetModules', `${String(targets)} matches no projection${layers === undefined ? '' : ' in the selected layers'}`);
  const [first] = byLayer.values() as IterableIterator<ProjectionName[]>;
  for (const [layer, projections] of byLayer) {
    if (projections.join() !== first!.join()) {
      throw invalid('config.targetModules', `${String(targets)} selects ${projections.join(', ')} in layer ${layer} but ${first!.join(', ')} elsewhere; use the same projections in every layer`);
    }
  }
  return { targetModules: first!, layers: [...byLayer.keys()] };
}

function checkKeys(config: object, allowed: readonly string[]): void {
  for (const key of Object.keys(config)) {
    if (!allowed.includes(key)) throw invalid(`config.${key}`, `unknown option for method ${(config as { method: string }).method}`);
  }
}

/**
 * Validates an adapter configuration and resolves it against a model with `layerCount` layers.
 * Throws {@link InvalidArgumentError} naming the first bad field (`config.<field>`).
 */
export function resolveAdapterConfig(config: AdapterConfig, layerCount: number): ResolvedAdapterConfig {
  if (typeof config !== 'object' || config === null) throw invalid('config', 'expected an object');
  const baseModelName = config.baseModelName ?? 'codestack-llama';
  if (typeof baseModelName !== 'string') throw invalid('config.baseModelName', 'expected a string');
  // A full-path pattern picks its own layers (PEFT forbids layers_to_transform with a pattern), so it defaults to every layer.
  const defaultLayers = typeof config.targetModules === 'string' && matchesFullPaths(config.targetModules, layerCount) ? 'all' : 'middle';
  const selectedLayers = resolveLayers(config.layers ?? defaultLayers, layerCount);
  const selection = (fallback: TargetModules): { targetModules: ProjectionName[]; layers: number[] } =>
    resolveTargetSelection(config.targetModules ?? fallback, layerCount, selectedLayers);
  if (config.method === 'lora') {
    checkKeys(config, ['method', 'r', 'alpha', 'dropout', 'useRsLora', 'initialization', 'targetModules', 'layers', 'baseModelName']);
    const r = config.r ?? 8;
    if (!Number.isInteger(r) || r < 1 || r > adapterConfigLimits.rank) {
      throw invalid('config.r', `expected an integer in [1, ${adapterConfigLimits.rank}], got ${JSON.stringify(r)}`);
    }
    const alpha = config.alpha ?? r;
    if (typeof alpha !== 'number' || !(alpha > 0 && alpha <= adapterConfigLimits.alpha)) {
      throw invalid('config.alpha', `expected a number in (0, ${adapterConfigLimits.alpha}], got ${JSON.stringify(alpha)}`);
    }
    const dropout = config.dropout ?? 0;
    if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) throw invalid('config.dropout', `expected a number in [0, 1), got ${JSON.stringify(dropout)}`);
    const useRsLora = config.useRsLora ?? false;
    if (typeof useRsLora !== 'boolean') throw invalid('config.useRsLora', 'expected a boolean');
    const initialization = config.initialization ?? 'kaiming-uniform';
    if (initialization !== 'kaiming-uniform' && initialization !== 'gaussian') {
      throw invalid('config.initialization', `expected 'kaiming-uniform' or 'gaussian', got ${JSON.stringify(initialization)}`);
    }
    const { targetModules, layers } = selection(['q_proj', 'v_proj']);
    const scale = useRsLora ? alpha / Math.sqrt(r) : alpha / r;
    return { method: 'lora', r, alpha, dropout, useRsLora, initialization, targetModules, layers, baseModelName, scale };
  }
  if (config.method === 'ia3') {
    checkKeys(config, ['method', 'targetModules', 'feedforwardModules', 'layers', 'baseModelName']);
    const { targetModules, layers } = selection(['k_proj', 'v_proj', 'down_proj']);
    const feedforward = config.feedforwardModules ?? targetModules.filter((name) => name === 'down_proj');
    if (!Array.isArray(feedforward)) throw invalid('config.feedforwardModules', 'expected a list of projection names');
    for (const name of feedforward) {
      if (!targetModules.includes(name)) {
        throw invalid('config.feedforwardModules', `${JSON.stringify(name)} is not one of the target modules ${targetModules.join(', ')}`);
      }
    }
    const feedforwardModules = targetModules.filter((name) => feedforward.includes(name));
    return { method: 'ia3', targetModules, feedforwardModules, layers, baseModelName };
  }
  throw invalid('config.method', `expected 'lora' or 'ia3', got ${JSON.stringify((config as { method?: unknown }).method)}`);
}

/**
 * The `adapter_config.json` object PEFT writes for this configuration (`peft_type`, `r`,
 * `lora_alpha`, `target_modules`, `layers_to_transform`, `use_rslora`, ...).
 */
export function toPeftConfig(config: ResolvedAdapterConfig): Record<string, unknown> {
  const common = {
    base_model_name_or_path: config.baseModelName,
    task_type: 'CAUSAL_LM',
    inference_mode: true,
    target_modules: config.targetModules,
    layers_to_transform: config.layers,
    layers_pattern: null,
    fan_in_fan_out: false,
    modules_to_save: null,
    revision: null,
  };
  if (config.method === 'lora') {
    return {
      ...common,
      peft_type: 'LORA',
      r: config.r,
      lora_alpha: config.alpha,
      lora_dropout: config.dropout,
      use_rslora: config.useRsLora,
      use_dora: false,
      rank_pattern: {},
      alpha_pattern: {},
      bias: 'none',
      init_lora_weights: config.initialization === 'gaussian' ? 'gaussian' : true,
    };
  }
  return { ...common, peft_type: 'IA3', feedforward_modules: config.feedforwardModules, init_ia3_weights: true };
}

/**
 * Reads a PEFT `adapter_config.json` object back into an {@link AdapterConfig}, checking every
 * field's type and size first (see {@link adapterConfigLimits}; a `target_modules` pattern is
 * at most 256 characters). Throws {@link InvalidArgumentError} for fields it cannot use
 * (unknown `peft_type`, `bias` other than `none`, `fan_in_fan_out`, a malformed field).
 */
export function fromPeftConfig(json: Record<string, unknown>): AdapterConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('config', 'expected a JSON object');
  const targets = json.target_modules;
  if (typeof targets === 'string') {
    if (targets.length > 256) throw invalid('target_modules', 'a pattern of more than 256 characters');
  } else if (Array.isArray(targets)) {
    if (targets.length > adapterConfigLimits.targetModuleNames || !targets.every((name) => typeof name === 'string' && name.length <= 256)) {
      throw invalid('target_modules', `expected at most ${adapterConfigLimits.targetModuleNames} module names`);
    }
  } else throw invalid('target_modules', 'expected a list or a pattern');
  const targetModules = targets as TargetModules;
  const layersField = json.layers_to_transform;
  if (Array.isArray(layersField) && (layersField.length > adapterConfigLimits.layers || !layersField.every((layer) => Number.isSafeInteger(layer)))) {
    throw invalid('layers_to_transform', `expected at most ${adapterConfigLimits.layers} layer indices`);
  }
  if (layersField !== null && layersField !== undefined && !Array.isArray(layersField) && !Number.isSafeInteger(layersField)) {
    throw invalid('layers_to_transform', 'expected a layer index, a list of them or null');
  }
  const layers: LayerSelection =
    layersField === null || layersField === undefined ? 'all' : typeof layersField === 'number' ? [layersField] : (layersField as number[]);
  if (json.fan_in_fan_out === true) throw invalid('fan_in_fan_out', 'fan_in_fan_out adapters are not supported');
  const baseModelName = json.base_model_name_or_path;
  if (baseModelName !== undefined && baseModelName !== null && (typeof baseModelName !== 'string' || baseModelName.length > 1024)) {
    throw invalid('base_model_name_or_path', 'expected a string of at most 1024 characters');
  }
  const base = { targetModules, layers, ...(typeof baseModelName === 'string' ? { baseModelName } : {}) };
  if (json.peft_type === 'LORA') {
    if (json.bias !== undefined && json.bias !== 'none') throw invalid('bias', `only bias 'none' is supported, got ${JSON.stringify(json.bias)}`);
    for (const key of ['r', 'lora_alpha'] as const) {
      if (typeof json[key] !== 'number') throw invalid(key, `expected a number, got ${JSON.stringify(json[key])}`);
    }
    if (json.lora_dropout !== undefined && json.lora_dropout !== null && typeof json.lora_dropout !== 'number') throw invalid('lora_dropout', 'expected a number');
    if (json.use_rslora !== undefined && typeof json.use_rslora !== 'boolean') throw invalid('use_rslora', 'expected a boolean');
    if (json.use_dora === true) throw invalid('use_dora', 'DoRA adapters are not supported');
    for (const key of ['rank_pattern', 'alpha_pattern'] as const) {
      const value = json[key];
      if (value !== undefined && value !== null && (typeof value !== 'object' || Object.keys(value).length > 0)) throw invalid(key, `a per-module ${key} is not supported`);
    }
    return {
      method: 'lora',
      ...base,
      r: json.r as number,
      alpha: json.lora_alpha as number,
      dropout: (json.lora_dropout ?? 0) as number,
      useRsLora: (json.use_rslora ?? false) as boolean,
      initialization: json.init_lora_weights === 'gaussian' ? 'gaussian' : 'kaiming-uniform',
    };
  }
  if (json.peft_type === 'IA3') {
    const feedforward = json.feedforward_modules;
    if (feedforward !== undefined && feedforward !== null && !(Array.isArray(feedforward) && feedforward.length <= projectionNames.length && feedforward.every((name) => typeof name === 'string'))) {
      throw invalid('feedforward_modules', 'expected a list of projection names');
    }
    return {
      method: 'ia3',
      ...base,
      ...(Array.isArray(feedforward) ? { feedforwardModules: feedforward as ProjectionName[] } : {}),
    };
  }
  throw invalid('peft_type', `expected LORA or IA3, got ${JSON.stringify(json.peft_type)}`);
}
