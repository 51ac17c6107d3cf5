import type * as tfCore from '@tensorflow/tfjs-core';
import { swiGlu } from '../ops/swi-glu.js';
import type { ForwardPass } from './forward-pass.js';

/**
 * The gated feed-forward block of one decoder layer (`mlp`): `down(silu(gate(x)) * up(x))` on
 * [batch * tokens, hidden] rows.
 */
export function mlp(pass: ForwardPass, layer: number, normed: tfCore.Tensor2D): tfCore.Tensor2D {
  const gate = pass.project(normed, layer, 'gate_proj');
  const up = pass.project(normed, layer, 'up_proj');
  return pass.project(swiGlu(pass.tf, gate, up, pass.differentiable), layer, 'down_proj');
}
