export { loadNativeKernels, type InstructionSet, type MatrixProduct, type NativeKernels, type NativeKernelsLoad, type NativeKernelsOptions } from './native-kernels.js';
