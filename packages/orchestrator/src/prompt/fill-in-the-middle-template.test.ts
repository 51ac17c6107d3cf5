import { describe, expect, it } from 'vitest';
import { buildFillInTheMiddlePrompt } from './fill-in-the-middle-template.js';

describe('fill-in-the-middle template', () => {
  it('builds a prefix-suffix-middle prompt with StarCoder sentinels or given ones', () => {
    expect(buildFillInTheMiddlePrompt('a(', ')')).toBe('<fim_prefix>a(<fim_suffix>)<fim_middle>');
    expect(buildFillInTheMiddlePrompt('p', 's', { prefix: '<PRE>', suffix: '<SUF>', middle: '<MID>' })).toBe('<PRE>p<SUF>s<MID>');
  });
});
