import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import { fromPeftConfig, middleLayers, resolveAdapterConfig, resolveLayers, resolveTargetModules, toPeftConfig, type AdapterConfig } from './adapter-config.js';

describe('adapter configuration', () => {
  it('takes the middle third of the layers by default', () => {
    expect(middleLayers(1)).toEqual([0]);
    expect(middleLayers(2)).toEqual([0, 1]);
    expect(middleLayers(3)).toEqual([1]);
    expect(middleLayers(6)).toEqual([2, 3]);
    expect(middleLayers(12)).toEqual([4, 5, 6, 7]);
    expect(resolveAdapterConfig({ method: 'lora' }, 9).layers).toEqual([3, 4, 5]);
  });

  it('resolves layer lists, ranges and all', () => {
    expect(resolveLayers([4, 0, 2], 6)).toEqual([0, 2, 4]);
    expect(resolveLayers({ start: 1, end: 4 }, 6)).toEqual([1, 2, 3]);
    expect(resolveLayers('all', 3)).toEqual([0, 1, 2]);
  });

  it('resolves target modules by name, regular expression, string pattern and all-linear', () => {
    expect(resolveTargetModules(['v_proj', 'q_proj'])).toEqual(['q_proj', 'v_proj']);
    expect(resolveTargetModules(/^(gate|up)_proj$/)).toEqual(['gate_proj', 'up_proj']);
    expect(resolveTargetModules('.*_proj')).toHaveLength(7);
    expect(resolveTargetModules('[qkv]_proj')).toEqual(['q_proj', 'k_proj', 'v_proj']);
    expect(resolveTargetModules('all-linear')).toHaveLength(7);
  });

  it('computes LoRA scaling as alpha/r, or alpha/sqrt(r) with rsLoRA', () => {
    const plain = resolveAdapterConfig({ method: 'lora', r: 16, alpha: 32 }, 4);
    const rs = resolveAdapterConfig({ method: 'lora', r: 16, alpha: 32, useRsLora: true }, 4);
    expect(plain.method === 'lora' && plain.scale).toBe(2);
    expect(rs.method === 'lora' && rs.scale).toBe(8);
  });

  it('refuses bad configurations with INVALID_ARGUMENT naming the field', () => {
    const cases: [unknown, string][] = [
      [{ method: 'prefix' }, 'config.method'],
      [{ method: 'lora', r: 1.5 }, 'config.r'],
      [{ method: 'lora', alpha: -1 }, 'config.alpha'],
      [{ method: 'lora', dropout: 1 }, 'config.dropout'],
      [{ method: 'lora', useRsLora: 'yes' }, 'config.useRsLora'],
      [{ method: 'lora', initialization: 'orthogonal' }, 'config.initialization'],
      [{ method: 'lora', targetModules: ['qkv_proj'] }, 'config.targetModules'],
      [{ method: 'lora', targetModules: 'attention' }, 'config.targetModules'],
      [{ method: 'lora', targetModules: '(' }, 'config.targetModules'],
      [{ method: 'lora', layers: [] }, 'config.layers'],
      [{ method: 'lora', layers: [1, 1] }, 'config.layers'],
      [{ method: 'lora', layers: { start: 2, end: 2 } }, 'config.layers'],
      [{ method: 'lora', layers: 'first' }, 'config.layers'],
      [{ method: 'lora', rank: 4 }, 'config.rank'],
      [{ method: 'ia3', targetModules: ['q_proj'], feedforwardModules: ['down_proj'] }, 'config.feedforwardModules'],
      [{ method: 'ia3', r: 4 }, 'config.r'],
    ];
    for (const [config, argument] of cases) {
      let caught: unknown;
      try {
        resolveAdapterConfig(config as AdapterConfig, 4);
      } catch (error) {
        caught = error;
      }
      expect(InvalidArgumentError.isInstance(caught), JSON.stringify(config)).toBe(true);
      expect((caught as InvalidArgumentError).argument, JSON.stringify(config)).toBe(argument);
      expect((caught as InvalidArgumentError).code).toBe('INVALID_ARGUMENT');
    }
  });

  it('round-trips through PEFT config fields', () => {
    const lora = resolveAdapterConfig({ method: 'lora', r: 8, alpha: 16, dropout: 0.05, useRsLora: true, targetModules: 'all-linear', layers: [1, 2], baseModelName: 'base' }, 4);
    const peft = toPeftConfig(lora);
    expect(peft).toMatchObject({ peft_type: 'LORA', r: 8, lora_alpha: 16, lora_dropout: 0.05, use_rslora: true, layers_to_transform: [1, 2], base_model_name_or_path: 'base', bias: 'none' });
    expect(resolveAdapterConfig(fromPeftConfig(peft), 4)).toEqual(lora);
    const ia3 = resolveAdapterConfig({ method: 'ia3', targetModules: ['v_proj', 'up_proj', 'down_proj'], feedforwardModules: ['up_proj', 'down_proj'] }, 6);
    expect(resolveAdapterConfig(fromPeftConfig(toPeftConfig(ia3)), 6)).toEqual(ia3);
    // Real PEFT files may carry a pattern for target_modules and null layers (every layer).
    expect(resolveAdapterConfig(fromPeftConfig({ peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: '.*(q|v)_proj', layers_to_transform: null }), 3)).toMatchObject({
      targetModules: ['q_proj', 'v_proj'],
      layers: [0, 1, 2],
    });
    expect(() => fromPeftConfig({ peft_type: 'PROMPT_TUNING', target_modules: [] })).toThrow(InvalidArgumentError);
    expect(() => fromPeftConfig({ peft_type: 'LORA', bias: 'all', target_modules: ['q_proj'] })).toThrow(/bias/);
  });
});
