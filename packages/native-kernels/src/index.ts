export { loadNativeKernels, type MatrixProduct, type NativeKernels, type NativeKernelsLoad } from './native-kernels.js';
