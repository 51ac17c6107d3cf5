import type * as tfCore from '@tensorflow/tfjs-core';

/**
 * The TensorFlow.js namespace a runtime owns. Its own file, so that ops (which need only this
 * type) do not import the runtime that registers them.
 */
export type TensorFlow = typeof tfCore;
