// codestack's own WebAssembly SIMD kernels for tfjs-wasm (built from native/kernels.c). Internal to
// the package: the model, the ops and the backend use them; the public switch is createRuntime's
// `kernels` option.
export { wasmKernelsFor, wasmKernelsForBackend, chooseWasmKernels, engineHasRelaxedSimd, releaseWasmKernels, WasmKernels } from './wasm-kernels.js';
export { KernelThreads } from './kernel-threads.js';
export { registerWasmKernels, runWasmKernel, type WasmKernelCall, type WasmKernelBody } from './wasm-kernel-registration.js';
export { causalAttention, causalAttentionKernelName } from './causal-attention.js';
export { fusedCrossEntropy, crossEntropyKernelName } from './cross-entropy-kernel.js';
export { transposeMatrix, columnSums, transposeKernelName, columnSumsKernelName } from './layout-kernels.js';
export { fusedRmsNorm, rmsNormKernelName } from './rms-norm-kernel.js';
export { fusedSwiGlu, swiGluKernelName } from './swi-glu-kernel.js';
export { adamWStep, adamWKernelName } from './adamw-kernel.js';
