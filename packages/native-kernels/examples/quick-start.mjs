import { loadNativeKernels } from '@codestack/native-kernels';

const load = loadNativeKernels();
if (!load.available) {
  console.log(`no native kernels here: ${load.reason}`);
} else {
  // A [2 x 3], B [3 x 2] and room for C [2 x 2], one after another in one array.
  const array = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0, 0]);
  const product = { rows: 2, columns: 2, depth: 3, a: 0, aRowStride: 3, aDepthStride: 1, b: 6, bDepthStride: 2, bColumnStride: 1, c: 12, cRowStride: 2 };
  load.kernels.multiplyMatrices(array, product);
  console.log('A · B =', Array.from(array.subarray(12)));

  // A read transposed: its 6 values as a [3 x 2] matrix, so the product is Aᵀ [2 x 3] · B [3 x 2].
  load.kernels.multiplyMatrices(array, { ...product, aRowStride: 1, aDepthStride: 2 });
  console.log('Aᵀ · B =', Array.from(array.subarray(12)));

  // A product that reaches past the array is refused before anything is read or written.
  try {
    load.kernels.multiplyMatrices(array, { ...product, c: 14 });
  } catch (error) {
    console.log(`${error.code}: ${error.message}`);
  }
}
