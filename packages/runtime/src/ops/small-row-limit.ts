/**
 * Row counts up to which inference does element-wise work in JavaScript rather than in tfjs
 * kernels (incremental decoding: one token per sequence, a few sequences).
 */
export const smallRowLimit = 8;
