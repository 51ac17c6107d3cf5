import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@codestack/core';
import { fromHuggingFaceConfig, parameterCount, toHuggingFaceConfig, validateModelConfig, weightShapes } from './model-config.js';
import { tinyConfig } from '../__fixtures__/test-configs.js';

describe('model configuration', () => {
  it('accepts a valid configuration and round-trips through the Hugging Face keys', () => {
    expect(validateModelConfig(tinyConfig)).toEqual(tinyConfig);
    expect(fromHuggingFaceConfig(toHuggingFaceConfig(tinyConfig))).toEqual(tinyConfig);
  });

  it('names the bad field in a typed error', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ hiddenSize: 0 }, 'config.hiddenSize'],
      [{ layers: 1.5 }, 'config.layers'],
      [{ vocabularySize: '48' }, 'config.vocabularySize'],
      [{ attentionHeads: 5 }, 'config.attentionHeads'],
      [{ hiddenSize: 36, attentionHeads: 12, keyValueHeads: 4 }, 'config.attentionHeads'],
      [{ keyValueHeads: 3 }, 'config.keyValueHeads'],
      [{ ropeTheta: -1 }, 'config.ropeTheta'],
      [{ normEpsilon: Number.NaN }, 'config.normEpsilon'],
      [{ tiedEmbeddings: 'yes' }, 'config.tiedEmbeddings'],
    ];
    for (const [change, argument] of cases) {
      let caught: unknown;
      try {
        validateModelConfig({ ...tinyConfig, ...change } as never);
      } catch (error) {
        caught = error;
      }
      expect(InvalidArgumentError.isInstance(caught), argument).toBe(true);
      expect((caught as InvalidArgumentError).argument).toBe(argument);
    }
  });

  it('lists Hugging Face weight names and shapes and counts parameters', () => {
    const shapes = weightShapes(tinyConfig);
    expect(shapes.get('model.layers.1.self_attn.k_proj.weight')).toEqual([16, 32]);
    expect(shapes.get('model.layers.0.mlp.down_proj.weight')).toEqual([32, 64]);
    expect(shapes.has('lm_head.weight')).toBe(false);
    expect(weightShapes({ ...tinyConfig, tiedEmbeddings: false }).get('lm_head.weight')).toEqual([48, 32]);
    // embed 48*32 + per layer (2*32 + 32*32*2 + 16*32*2 + 64*32*3) + final norm 32
    expect(parameterCount(tinyConfig)).toBe(48 * 32 + 2 * (64 + 2048 + 1024 + 6144) + 32);
  });
});
