// Tensor operations: one op per file, most with a JavaScript fast path or a custom gradient that tfjs-wasm lacks.
export { matMul2d } from './mat-mul-2d.js';
export { batchedMatMul } from './batched-mat-mul.js';
export { embeddingLookup } from './embedding-lookup.js';
export { rotaryEmbedding, type RotaryLayout, type RotaryOptions } from './rotary-embedding.js';
export { rmsNorm } from './rms-norm.js';
export { swiGlu } from './swi-glu.js';
export { causalMask } from './causal-mask.js';
export { smallRowLimit } from './small-row-limit.js';
export { crossEntropyLoss } from './cross-entropy.js';
export { registerMissingGradients } from './register-gradients.js';
export { registerSharedIdentityKernel } from './shared-identity-kernel.js';
