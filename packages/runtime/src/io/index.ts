// Reading and writing weights: safetensors files, float16 conversion and model checkpoints.
export { float32ToFloat16Bits, float16BitsToFloat32 } from './float16.js';
export {
  encodeSafetensors,
  decodeSafetensors,
  writeSafetensors,
  readSafetensors,
  type SafetensorsDtype,
  type SafetensorsTensor,
  type SafetensorsContent,
  type SafetensorsWriteOptions,
  type SafetensorsReadOptions,
} from './safetensors.js';
export {
  saveModel,
  loadModel,
  readModelConfig,
  encodeModelFiles,
  checkpointFiles,
  maximumConfigBytes,
  type SaveModelOptions,
  type LoadModelOptions,
} from './checkpoint.js';
